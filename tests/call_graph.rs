//! The task call graph (asyncio 3.14 `capture_call_graph`,
//! `print_call_graph`, `python -m asyncio pstree`) and `Handle::dump`: a
//! known scenario's tree, what each task is suspended on, scopes, states,
//! spawn locations and cancel counters.
//!
//! The scenario: `main` runs a TaskGroup with two children, `waiter` in
//! `wait_for(sleep(..))` and `joiner` awaiting a third task `third` (not a
//! group child). asyncio 3.14 gives the same edges: main awaits both
//! children (TaskGroup), joiner awaits third.

use ravel::call_graph::{CallGraph, Dump, Scope, SuspendedOn, TaskState};
use ravel::{Handle, TaskRef};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// Yields until `ready` holds (the tasks observed have reached their
/// awaits), failing the test rather than hanging if they never do.
async fn until(mut ready: impl FnMut() -> bool) -> ravel::Result<()> {
    for _ in 0..10_000 {
        if ready() {
            return Ok(());
        }
        ravel::yield_now().await?;
    }
    panic!("the scenario never settled");
}

fn suspended(task: &TaskRef) -> bool {
    task.info().state == TaskState::Suspended
}

/// What the scenario hands back: the dump and the graph seen from `third`,
/// both taken while every task was suspended, and the tasks.
struct Seen {
    dump: Dump,
    from_third: CallGraph,
    main: TaskRef,
    waiter: TaskRef,
    joiner: TaskRef,
    third: TaskRef,
    spawn_line: u32,
}

/// Runs the scenario; an observer task takes the dump once everything is
/// suspended, then cancels the children so the group ends.
fn scenario(rt: &ravel::Runtime) -> Seen {
    ravel_tests::block(rt, async {
        let main = ravel::current_task().unwrap();
        main.set_name("main");
        let (tx, rx) = std::sync::mpsc::channel::<(TaskRef, TaskRef, TaskRef, u32)>();
        let observed = main.clone();
        let observer = ravel::task::Builder::new().name("observer").spawn(async move {
            let (waiter, joiner, third, spawn_line) = loop {
                match rx.try_recv() {
                    Ok(tasks) => break tasks,
                    Err(_) => ravel::yield_now().await?,
                }
            };
            until(|| {
                matches!(observed.info().suspended_on, SuspendedOn::TaskGroupExit)
                    && [&waiter, &joiner, &third].into_iter().all(suspended)
            })
            .await?;
            let dump = Handle::current().dump();
            let from_third = ravel::capture_call_graph(Some(&third)).unwrap();
            waiter.cancel();
            joiner.cancel(); // forwarded to third
            Ok((dump, from_third, waiter, joiner, third, spawn_line))
        });
        ravel::TaskGroup::run(|tg| async move {
            let waiter = tg.spawn_with(ravel::task::Builder::new().name("waiter"), async {
                ravel::wait_for(ravel::sleep(2 * HOUR), HOUR).await
            })?;
            let third = ravel::task::Builder::new().name("third").spawn(ravel::sleep(2 * HOUR));
            let third_ref = third.to_task_ref();
            let spawn_line = line!() - 2;
            let joiner = tg.spawn_with(ravel::task::Builder::new().name("joiner"), third)?; // joins third
            tx.send((waiter.to_task_ref(), joiner.to_task_ref(), third_ref, spawn_line)).unwrap();
            Ok(())
        })
        .await?;
        let (dump, from_third, waiter, joiner, third, spawn_line) = observer.await?;
        Ok(Seen { dump, from_third, main, waiter, joiner, third, spawn_line })
    })
}

fn ids(tasks: &[TaskRef]) -> Vec<ravel::TaskId> {
    let mut ids: Vec<_> = tasks.iter().map(TaskRef::id).collect();
    ids.sort();
    ids
}

/// The edges: main awaits both group children, joiner awaits third,
/// waiter and third await nothing; the dump's tree prints main at the top
/// with waiter and joiner under it and third under joiner.
#[test]
fn call_graph_task_group_scenario_has_the_expected_tree() {
    for (flavour, rt) in ravel_tests::both() {
        let seen = scenario(&rt);
        let info = |t: &TaskRef| seen.dump.get(t.id()).unwrap_or_else(|| panic!("{flavour}: {t:?} missing"));
        assert_eq!(ids(&info(&seen.main).awaits()), ids(&[seen.waiter.clone(), seen.joiner.clone()]), "{flavour}");
        assert_eq!(ids(&info(&seen.joiner).awaits()), ids(std::slice::from_ref(&seen.third)), "{flavour}");
        assert!(info(&seen.waiter).awaits().is_empty(), "{flavour}");
        assert!(info(&seen.third).awaits().is_empty(), "{flavour}");
        assert_eq!(seen.dump.awaited_by(seen.third.id()).len(), 1, "{flavour}");
        assert_eq!(seen.dump.awaited_by(seen.third.id())[0].id, seen.joiner.id(), "{flavour}");

        let text = seen.dump.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let line_of = |name: &str| {
            lines
                .iter()
                .position(|l| l.contains(&format!("{name} (id ")))
                .unwrap_or_else(|| panic!("{flavour}: no {name} in\n{text}"))
        };
        let (m, w, j, t) = (line_of("main"), line_of("waiter"), line_of("joiner"), line_of("third"));
        assert!(lines[m].starts_with("├── ") || lines[m].starts_with("└── "), "{flavour}: main is a root\n{text}");
        assert!(
            lines[w].starts_with("│   ├── ") || lines[w].starts_with("    ├── "),
            "{flavour}: waiter under main\n{text}"
        );
        assert!(
            lines[j].starts_with("│   └── ") || lines[j].starts_with("    └── "),
            "{flavour}: joiner under main\n{text}"
        );
        assert!(lines[t].contains("    └── third"), "{flavour}: third under joiner\n{text}");
        assert!(m < w && w < j && j < t, "{flavour}: tree order\n{text}");
        assert!(!text.contains("(shown above)"), "{flavour}: third has one parent, printed once\n{text}");
    }
}

/// What each task is suspended on, its scopes, state and spawn location.
#[test]
fn call_graph_reports_suspensions_scopes_and_locations() {
    for (flavour, rt) in ravel_tests::both() {
        let seen = scenario(&rt);
        let info = |t: &TaskRef| seen.dump.get(t.id()).unwrap().clone();

        let main = info(&seen.main);
        assert!(matches!(main.suspended_on, SuspendedOn::TaskGroupExit), "{flavour}: {main:?}");
        assert!(matches!(&main.scopes[..], [Scope::TaskGroup { children }] if children.len() == 2), "{flavour}");
        assert_eq!(main.state, TaskState::Suspended, "{flavour}");
        assert!(main.location.file().ends_with("src/lib.rs"), "{flavour}: root spawned by block_on in the helper");

        let waiter = info(&seen.waiter);
        assert!(matches!(waiter.suspended_on, SuspendedOn::Sleep(Some(_))), "{flavour}: {waiter:?}");
        let deadline = match &waiter.scopes[..] {
            [Scope::Timeout { deadline: Some(d) }] => *d,
            other => panic!("{flavour}: wait_for's timeout scope expected, got {other:?}"),
        };
        match waiter.suspended_on {
            SuspendedOn::Sleep(Some(until)) => assert!(until > deadline, "{flavour}: the sleep outlasts the timeout"),
            _ => unreachable!(),
        }

        let joiner = info(&seen.joiner);
        assert!(matches!(&joiner.suspended_on, SuspendedOn::Task(t) if *t == seen.third), "{flavour}: {joiner:?}");
        assert!(joiner.scopes.is_empty(), "{flavour}");

        let third = info(&seen.third);
        assert_eq!(third.name, "third");
        assert_eq!(third.location.file(), file!(), "{flavour}");
        assert_eq!(third.location.line(), seen.spawn_line, "{flavour}: #[track_caller] spawn location");
        assert_eq!(third.cancelling, 0, "{flavour}");

        let observer = seen.dump.tasks().iter().find(|t| t.name == "observer").expect("observer listed");
        assert_eq!(observer.state, TaskState::Running, "{flavour}: it took the dump");
    }
}

/// `capture_call_graph(third)` walks up: third is awaited by joiner, which
/// is awaited by main (through the group), which nobody awaits.
#[test]
fn capture_call_graph_walks_the_awaiters_up() {
    for (flavour, rt) in ravel_tests::both() {
        let seen = scenario(&rt);
        let g = &seen.from_third;
        assert_eq!(g.task.id, seen.third.id(), "{flavour}");
        assert_eq!(g.awaited_by.len(), 1, "{flavour}");
        let by = &g.awaited_by[0];
        assert_eq!(by.task.id, seen.joiner.id(), "{flavour}");
        assert_eq!(by.awaited_by.len(), 1, "{flavour}");
        assert_eq!(by.awaited_by[0].task.id, seen.main.id(), "{flavour}");
        assert!(by.awaited_by[0].awaited_by.is_empty(), "{flavour}");
        let text = g.to_string();
        assert!(text.starts_with("* Task(name='third', id="), "{flavour}: {text}");
        assert!(text.contains("\n  + Awaited by:\n     * Task(name='joiner'"), "{flavour}: {text}");
        assert!(text.contains("\n          * Task(name='main'"), "{flavour}: {text}");
    }
}

/// The cancel counter shows in the info and the printed line; gather,
/// shield, to_thread and a promise are named as what a task waits on.
#[test]
fn call_graph_names_other_suspensions_and_cancelling() {
    let rt = ravel_tests::current_thread();
    ravel_tests::block(&rt, async {
        let gathered = ravel::gather([ravel::sleep(HOUR), ravel::sleep(HOUR)]);
        let children = gathered.children().to_vec();
        let g = ravel::spawn(async move { gathered.await.map(drop) });
        let inner = ravel::spawn(ravel::sleep(HOUR));
        let inner_ref = inner.to_task_ref();
        let s = ravel::spawn(async move { ravel::shield(inner).await });
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let th = ravel::spawn(ravel::to_thread(move || {
            let _ = rx.recv();
            Ok(())
        }));
        let promise = ravel::Promise::<u32>::new();
        let p2 = promise.clone();
        let p = ravel::spawn(async move { p2.await.map(drop) });
        let event = std::sync::Arc::new(ravel::sync::Event::new());
        let e2 = event.clone();
        let ev = ravel::spawn(async move { e2.wait().await });
        until(|| [&g, &s, &th, &p, &ev].into_iter().all(|t| suspended(t))).await?;
        assert!(matches!(ev.info().suspended_on, SuspendedOn::Sync("Event.wait")));
        event.set();

        assert!(matches!(&g.info().suspended_on, SuspendedOn::Gather(ts) if ids(ts) == ids(&children)));
        assert_eq!(ids(&g.info().awaits()), ids(&children));
        assert!(matches!(&s.info().suspended_on, SuspendedOn::Shield(t) if *t == inner_ref));
        assert!(matches!(th.info().suspended_on, SuspendedOn::ToThread));
        assert!(matches!(p.info().suspended_on, SuspendedOn::Promise));

        // A cancellation forwarded through the gather counts on the gather's
        // awaiter and on every child.
        g.cancel();
        until(|| children.iter().all(|c| c.cancelling() == 1)).await?;
        let line = Handle::current().dump().to_string();
        assert!(line.lines().any(|l| l.contains("(cancelling=1)")), "{line}");

        s.cancel();
        inner_ref.cancel();
        tx.send(()).unwrap();
        promise.set_result(1)?;
        for t in [g.to_task_ref(), s.to_task_ref(), th.to_task_ref(), p.to_task_ref(), ev.to_task_ref()] {
            t.wait_done().await?;
        }
        Ok(())
    });
}

/// A task suspended on something Ravel does not see into, and the current
/// task, show `Unknown`; a done task drops out of the dump.
#[test]
fn call_graph_unknown_suspension_and_done_tasks() {
    let rt = ravel_tests::current_thread();
    ravel_tests::block(&rt, async {
        let me = ravel::current_task().unwrap();
        assert!(matches!(me.info().suspended_on, SuspendedOn::Unknown));
        assert_eq!(me.info().state, TaskState::Running);
        let done = ravel::spawn(async { Ok(()) });
        let done_ref = done.to_task_ref();
        done.await?;
        assert!(Handle::current().dump().get(done_ref.id()).is_none());
        assert_eq!(done_ref.info().state, TaskState::Done);
        Ok(())
    });
}

/// A sleep's note (the lock-free record, `task/note.rs`) names the sleep's
/// own deadline and lasts one suspension: once the task has moved on to an
/// await Ravel does not see into, it shows `Unknown`, not the old sleep.
#[test]
fn call_graph_sleep_note_has_the_deadline_and_lasts_one_suspension() {
    for (flavour, rt) in [("current", ravel_tests::current_thread()), ("multi", ravel_tests::multi_thread(2))] {
        ravel_tests::block(&rt, async move {
            let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
            let before = std::time::Instant::now();
            let sleeper = ravel::spawn(async move {
                let cancelled = ravel::sleep(HOUR).await.unwrap_err();
                assert!(cancelled.is_cancelled());
                ravel::current_task().unwrap().uncancel();
                // A future of another crate: parked until its waker is called.
                let mut woken = false;
                std::future::poll_fn(|cx| {
                    if woken {
                        return std::task::Poll::Ready(());
                    }
                    woken = true;
                    tx.send(cx.waker().clone()).unwrap();
                    std::task::Poll::Pending
                })
                .await;
                Ok(())
            });
            until(|| suspended(&sleeper)).await?;
            let after = std::time::Instant::now();
            match sleeper.info().suspended_on {
                SuspendedOn::Sleep(Some(until)) => {
                    assert!(until >= before + HOUR && until <= after + HOUR, "{flavour}: {until:?}")
                }
                other => panic!("{flavour}: {other:?}"),
            }
            sleeper.cancel();
            let waker = ravel::to_thread(move || Ok(rx.recv().unwrap())).await?;
            until(|| suspended(&sleeper)).await?;
            assert!(matches!(sleeper.info().suspended_on, SuspendedOn::Unknown), "{flavour}: {:?}", sleeper.info());
            waker.wake();
            sleeper.await
        });
    }
}
