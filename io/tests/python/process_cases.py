"""asyncio subprocess behaviours that io/tests/process_*.rs port (CPython 3.13).

Run: PYENV_VERSION=3.13.0 python3 io/tests/python/process_cases.py
Each case prints `name: value`; the Rust test of the same name checks it.
"""
import asyncio
import os
import signal
from asyncio.subprocess import PIPE, DEVNULL


async def main():
    # killed_by_signal_returncode_is_negative
    p = await asyncio.create_subprocess_exec("/bin/sh", "-c", "read x", stdin=PIPE)
    print("returncode_while_running:", p.returncode)
    p.kill()
    print("killed_by_signal_returncode_is_negative:", await p.wait())
    # wait_after_exit_returns_the_same_code
    print("wait_after_exit_returns_the_same_code:", await p.wait(), p.returncode)
    # signal_after_exit
    for name, f in (("send_signal", lambda: p.send_signal(signal.SIGTERM)), ("terminate", p.terminate), ("kill", p.kill)):
        try:
            f()
            print(f"{name}_after_wait:", "ok")
        except Exception as e:
            print(f"{name}_after_wait:", type(e).__name__)
    p = await asyncio.create_subprocess_exec("/bin/sh", "-c", "kill -TERM $$")
    print("terminated_by_sigterm:", await p.wait())
    # communicate_with_input
    p = await asyncio.create_subprocess_exec("/bin/cat", stdin=PIPE, stdout=PIPE, stderr=PIPE)
    out, err = await p.communicate(b"hello\n")
    print("communicate_with_input:", out, err, p.returncode)
    # communicate_input_to_a_child_that_does_not_read: BrokenPipe ignored
    p = await asyncio.create_subprocess_exec("/bin/sh", "-c", "exit 0", stdin=PIPE, stdout=PIPE)
    print("communicate_input_not_read:", await p.communicate(b"x" * (4 * 1024 * 1024)), p.returncode)
    # communicate_without_pipes
    p = await asyncio.create_subprocess_exec("/bin/true", stdout=DEVNULL)
    print("communicate_without_pipes:", await p.communicate(), p.returncode)
    # communicate_10mb_both
    n = 10 * 1024 * 1024
    p = await asyncio.create_subprocess_exec("/bin/sh", "-c", f"head -c {n} /dev/zero; head -c {n} /dev/zero >&2", stdout=PIPE, stderr=PIPE)
    out, err = await p.communicate()
    print("communicate_10mb_both:", len(out), len(err), set(out), set(err), p.returncode)
    # wait_for_communicate_expiry_does_not_kill: the child (which does not
    # read stdin) is still running after the timeout, then killed.
    p = await asyncio.create_subprocess_exec("/bin/sh", "-c", "echo started; exec sleep 30", stdout=PIPE)
    try:
        await asyncio.wait_for(p.communicate(), 0.5)
    except TimeoutError:
        print("wait_for_communicate_expiry:", "TimeoutError", "returncode", p.returncode, "alive", os.waitpid(p.pid, os.WNOHANG) == (0, 0))
    try:
        print("readline_after_expiry:", await asyncio.wait_for(p.stdout.readline(), 0.5))
    except TimeoutError:
        # asyncio's read() keeps the blocks it read in a local list: the
        # cancelled communicate() took "started\n" with it.
        print("readline_after_expiry:", "TimeoutError")
    p.kill()
    print("killed_after_expiry:", await p.wait())
    # the idiom that kills on expiry
    p = await asyncio.create_subprocess_exec("/bin/sh", "-c", "exec sleep 30", stdout=PIPE)
    try:
        await asyncio.wait_for(p.communicate(), 0.1)
    except TimeoutError:
        p.kill()
        print("kill_on_expiry_idiom:", await p.wait())
    # read_stdout_after_exit_yields_buffered_output
    p = await asyncio.create_subprocess_exec("/bin/sh", "-c", "echo one; echo two", stdout=PIPE)
    print("wait_then_read:", await p.wait(), await p.stdout.read())
    # reader_cancelled_mid_output
    p = await asyncio.create_subprocess_exec("/bin/sh", "-c", "echo first; read x; echo second", stdin=PIPE, stdout=PIPE)
    line = await p.stdout.readline()
    t = asyncio.ensure_future(p.stdout.readline())
    await asyncio.sleep(0.05)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        pass
    p.stdin.write(b"go\n")
    p.stdin.close()
    print("reader_cancelled_mid_output:", line, await p.stdout.read(), await p.wait())
    # stdin_closed_gives_eof
    p = await asyncio.create_subprocess_exec("/bin/cat", stdin=PIPE, stdout=PIPE)
    p.stdin.write(b"abc")
    p.stdin.close()
    await p.stdin.wait_closed()
    print("stdin_closed_gives_eof:", await p.stdout.read(), await p.wait())
    # exit code
    p = await asyncio.create_subprocess_shell("exit 3")
    print("shell_exit_code:", await p.wait())
    p = await asyncio.create_subprocess_shell("echo $((6*7))", stdout=PIPE)
    print("shell_communicate:", await p.communicate())
    # program not found
    try:
        await asyncio.create_subprocess_exec("/nonexistent/prog")
    except Exception as e:
        print("exec_not_found:", type(e).__name__, e.errno)
    # 200 concurrent
    async def one(i):
        p = await asyncio.create_subprocess_exec("/bin/sh", "-c", f"echo {i}; exit {i % 7}", stdout=PIPE)
        out, _ = await p.communicate()
        return out, p.returncode
    res = await asyncio.gather(*(one(i) for i in range(200)))
    print("two_hundred_concurrent:", all(r == (f"{i}\n".encode(), i % 7) for i, r in enumerate(res)))
    # stdout_inherit: None attribute
    p = await asyncio.create_subprocess_exec("/bin/true")
    print("no_pipes_attributes:", p.stdin, p.stdout, p.stderr, await p.wait())

asyncio.run(main())
