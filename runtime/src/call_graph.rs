//! The task call graph: which task awaits which (asyncio 3.14's
//! `capture_call_graph` / `print_call_graph` and `python -m asyncio
//! pstree`), and [`Handle::dump`](crate::Handle::dump) of every task.
//!
//! The edges are what Ravel already knows: a task joining a task, a
//! `shield`, `gather` or `wait` of tasks, and a `TaskGroup`'s children
//! (awaited by the group's parent, as asyncio 3.14 records them). Each task
//! also says what it is suspended on ([`SuspendedOn`]: a sleep and its
//! deadline, a task, `to_thread`, a promise, a sync primitive, a task
//! group's exit), the scopes it is in ([`Scope`]: task groups, timeouts
//! with their deadline), its state, cancel counter and spawn location.
//!
//! Unlike asyncio there is no coroutine call stack: a Rust future cannot
//! be walked. The spawn location and the suspension take its place.
//!
//! ```
//! use std::time::Duration;
//!
//! ravel::run(async {
//!     let child = ravel::task::Builder::new().name("child").spawn(ravel::sleep(Duration::from_secs(3600)));
//!     let parent = ravel::task::Builder::new().name("parent").spawn(async move { child.await });
//!     while parent.info().state != ravel::call_graph::TaskState::Suspended {
//!         ravel::yield_now().await?;
//!     }
//!     let dump = ravel::Handle::current().dump();
//!     let text = dump.to_string();
//!     // main and parent are roots; child hangs under parent.
//!     assert!(text.contains("└── parent"), "{text}");
//!     assert!(text.contains("    └── child"), "{text}");
//!     parent.cancel();
//!     Ok(())
//! })
//! .unwrap();
//! ```

use crate::scheduler::Shared;
use crate::task::TaskRef;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Instant;

pub use crate::task::introspect::{Scope, SuspendedOn, TaskInfo, TaskState};

/// One task and the tasks awaiting it, transitively (asyncio's
/// `FutureCallGraph`: `future`, `awaited_by`; Ravel has no call stack to
/// give). Printed as asyncio's `format_call_graph` prints it.
///
/// ```
/// ravel::run(async {
///     let me = ravel::current_task().unwrap();
///     let main = me.clone();
///     let inner = ravel::spawn(async move {
///         while main.info().state != ravel::call_graph::TaskState::Suspended {
///             ravel::yield_now().await?; // until main awaits us
///         }
///         let graph = ravel::capture_call_graph(None).unwrap();
///         // The task awaiting us is main.
///         Ok(graph.awaited_by.iter().map(|g| g.task.id).collect::<Vec<_>>())
///     });
///     assert_eq!(inner.await?, [me.id()]);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallGraph {
    /// The task.
    pub task: TaskInfo,
    /// The tasks awaiting it, each with the tasks awaiting that one. A task
    /// reached twice (a task awaited through two paths, or a cycle) is
    /// listed again without its own awaiters.
    pub awaited_by: Vec<CallGraph>,
}

/// The call graph of `task` (the current task if `None`): its info and the
/// chain of tasks awaiting it (asyncio 3.14 `capture_call_graph`). `None`
/// when no task is given and none is running.
///
/// ```
/// assert!(ravel::capture_call_graph(None).is_none(), "no current task here");
/// ravel::run(async {
///     let graph = ravel::capture_call_graph(None).unwrap();
///     assert_eq!(graph.task.name, "main");
///     assert!(graph.awaited_by.is_empty());
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn capture_call_graph(task: Option<&TaskRef>) -> Option<CallGraph> {
    let task = match task {
        Some(t) => t.clone(),
        None => crate::current_task()?,
    };
    let all = runtime_tasks(&task);
    let infos: HashMap<_, TaskInfo> = all.iter().map(|t| (t.id(), t.info())).collect();
    let mut awaited_by: HashMap<_, Vec<_>> = HashMap::new();
    for info in infos.values() {
        for awaited in info.awaits() {
            awaited_by.entry(awaited.id()).or_default().push(info.id);
        }
    }
    for list in awaited_by.values_mut() {
        list.sort();
    }
    fn build(
        info: TaskInfo,
        infos: &HashMap<crate::TaskId, TaskInfo>,
        awaited_by: &HashMap<crate::TaskId, Vec<crate::TaskId>>,
        seen: &mut HashSet<crate::TaskId>,
    ) -> CallGraph {
        let mut out = Vec::new();
        if seen.insert(info.id) {
            for id in awaited_by.get(&info.id).into_iter().flatten() {
                if let Some(parent) = infos.get(id) {
                    out.push(build(parent.clone(), infos, awaited_by, seen));
                }
            }
        }
        CallGraph { task: info, awaited_by: out }
    }
    let info = infos.get(&task.id()).cloned().unwrap_or_else(|| task.info());
    Some(build(info, &infos, &awaited_by, &mut HashSet::new()))
}

/// Prints the call graph of `task` (the current task if `None`) on
/// stdout, as asyncio 3.14's `print_call_graph` does; prints nothing when
/// there is no task.
///
/// ```
/// ravel::run(async {
///     ravel::print_call_graph(None); // * Task(name='main', id=1) running, spawned at ...
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn print_call_graph(task: Option<&TaskRef>) {
    if let Some(graph) = capture_call_graph(task) {
        print!("{graph}");
    }
}

/// The live tasks of `task`'s runtime (including `task`).
fn runtime_tasks(task: &TaskRef) -> Vec<TaskRef> {
    let mut tasks = match task.raw().header().scheduler().as_any().downcast_ref::<Shared>() {
        Some(shared) => shared.registry.snapshot().into_iter().map(TaskRef::from_raw).filter(|t| !t.done()).collect(),
        None => Vec::new(),
    };
    if !tasks.contains(task) {
        tasks.push(task.clone());
    }
    tasks
}

impl fmt::Display for CallGraph {
    /// asyncio's `format_call_graph` layout:
    ///
    /// ```text
    /// * Task(name='child', id=3) suspended on sleep until +3600.0s, spawned at src/main.rs:9:17
    ///   + Awaited by:
    ///      * Task(name='parent', id=2) suspended on task 'child' (id 3), spawned at src/main.rs:10:18
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn render(g: &CallGraph, indent: usize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let pad = " ".repeat(indent);
            writeln!(f, "{pad}* Task(name='{}', id={}) {}", g.task.name, g.task.id, Details(&g.task))?;
            if !g.awaited_by.is_empty() {
                writeln!(f, "{pad}  + Awaited by:")?;
                for parent in &g.awaited_by {
                    render(parent, indent + 5, f)?;
                }
            }
            Ok(())
        }
        render(self, 0, f)
    }
}

/// Every live task of a runtime with what it awaits, from
/// [`Handle::dump`](crate::Handle::dump). `Display` prints it as a tree
/// (`python -m asyncio pstree`): tasks nobody awaits at the top, each
/// task's awaited tasks below it.
///
/// ```
/// let rt = ravel::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let dump = ravel::Handle::current().dump();
///     assert_eq!(dump.tasks().len(), 1);
///     assert!(dump.to_string().starts_with("└── Task-"));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Dump {
    tasks: Vec<TaskInfo>,
}

impl Dump {
    pub(crate) fn of(mut tasks: Vec<TaskRef>) -> Dump {
        tasks.sort_by_key(TaskRef::id);
        Dump { tasks: tasks.iter().map(TaskRef::info).collect() }
    }

    /// Every task, by id.
    ///
    /// ```
    /// ravel::run(async {
    ///     let dump = ravel::Handle::current().dump();
    ///     assert_eq!(dump.tasks()[0].name, "main");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// The task with this id, if it was live.
    ///
    /// ```
    /// ravel::run(async {
    ///     let me = ravel::current_task().unwrap();
    ///     assert_eq!(ravel::Handle::current().dump().get(me.id()).unwrap().name, "main");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn get(&self, id: crate::TaskId) -> Option<&TaskInfo> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// The tasks awaiting the task `id`.
    ///
    /// ```
    /// ravel::run(async {
    ///     let child = ravel::spawn(ravel::sleep(std::time::Duration::from_secs(3600)));
    ///     let id = child.id();
    ///     let parent = ravel::spawn(async move { child.await });
    ///     while parent.info().state != ravel::call_graph::TaskState::Suspended {
    ///         ravel::yield_now().await?;
    ///     }
    ///     let dump = ravel::Handle::current().dump();
    ///     assert_eq!(dump.awaited_by(id).iter().map(|t| t.id).collect::<Vec<_>>(), [parent.id()]);
    ///     parent.cancel();
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn awaited_by(&self, id: crate::TaskId) -> Vec<&TaskInfo> {
        self.tasks.iter().filter(|t| t.awaits().iter().any(|a| a.id() == id)).collect()
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let edges: HashMap<_, Vec<_>> = self
            .tasks
            .iter()
            .map(|t| (t.id, t.awaits().iter().map(TaskRef::id).filter(|id| self.get(*id).is_some()).collect()))
            .collect();
        let awaited: HashSet<_> = edges.values().flatten().copied().collect();
        let mut printed = HashSet::new();
        let roots: Vec<_> = self.tasks.iter().filter(|t| !awaited.contains(&t.id)).collect();
        let count = roots.len();
        for (i, root) in roots.into_iter().enumerate() {
            self.render(root, "", i + 1 == count, &edges, &mut printed, f)?;
        }
        // Tasks only reachable through a cycle of awaits have no root.
        let rest: Vec<_> = self.tasks.iter().filter(|t| !printed.contains(&t.id)).collect();
        if !rest.is_empty() {
            writeln!(f, "(tasks awaiting each other in a cycle)")?;
            let count = rest.len();
            for (i, task) in rest.into_iter().enumerate() {
                if !printed.contains(&task.id) {
                    self.render(task, "", i + 1 == count, &edges, &mut printed, f)?;
                }
            }
        }
        Ok(())
    }
}

impl Dump {
    fn render(
        &self,
        task: &TaskInfo,
        prefix: &str,
        last: bool,
        edges: &HashMap<crate::TaskId, Vec<crate::TaskId>>,
        printed: &mut HashSet<crate::TaskId>,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        let branch = if last { "└── " } else { "├── " };
        if !printed.insert(task.id) {
            return writeln!(f, "{prefix}{branch}{} (id {}) (shown above)", task.name, task.id);
        }
        writeln!(f, "{prefix}{branch}{} (id {}) {}", task.name, task.id, Details(task))?;
        let children = edges.get(&task.id).map(Vec::as_slice).unwrap_or_default();
        let prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        for (i, id) in children.iter().enumerate() {
            if let Some(child) = self.get(*id) {
                self.render(child, &prefix, i + 1 == children.len(), edges, printed, f)?;
            }
        }
        Ok(())
    }
}

/// The part of a task's line after its name and id: state, cancel
/// counter, suspension, scopes, spawn location.
struct Details<'a>(&'a TaskInfo);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        f.write_str(t.state.as_str())?;
        if t.cancelling > 0 {
            write!(f, " (cancelling={})", t.cancelling)?;
        }
        if !matches!(t.suspended_on, SuspendedOn::Unknown) {
            write!(f, " on {}", Suspended(&t.suspended_on))?;
        }
        for scope in &t.scopes {
            match scope {
                Scope::TaskGroup { children } => write!(f, ", in a TaskGroup ({} children)", children.len())?,
                Scope::Timeout { deadline: Some(d) } => write!(f, ", in a timeout ({})", Until(*d))?,
                Scope::Timeout { deadline: None } => write!(f, ", in a timeout (no deadline)")?,
            }
        }
        write!(f, ", spawned at {}", t.location)
    }
}

struct Suspended<'a>(&'a SuspendedOn);

impl fmt::Display for Suspended<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, what: &str, tasks: &[TaskRef]| {
            let ids: Vec<String> = tasks.iter().map(|t| t.id().to_string()).collect();
            write!(f, "{what} of tasks [{}]", ids.join(", "))
        };
        match self.0 {
            SuspendedOn::Unknown => f.write_str("unknown"),
            SuspendedOn::Task(t) => write!(f, "task '{}' (id {})", t.name(), t.id()),
            SuspendedOn::Shield(t) => write!(f, "shield of task '{}' (id {})", t.name(), t.id()),
            SuspendedOn::Gather(ts) => list(f, "gather", ts),
            SuspendedOn::Wait(ts) => list(f, "wait", ts),
            SuspendedOn::TaskGroupExit => f.write_str("the end of its TaskGroup"),
            SuspendedOn::Sleep(Some(d)) => write!(f, "sleep ({})", Until(*d)),
            SuspendedOn::Sleep(None) => f.write_str("sleep (for ever)"),
            SuspendedOn::ToThread => f.write_str("to_thread"),
            SuspendedOn::Promise => f.write_str("a promise"),
            SuspendedOn::Sync(what) => f.write_str(what),
            SuspendedOn::Io(what) => write!(f, "I/O on {what}"),
            SuspendedOn::Other(what) => f.write_str(what),
        }
    }
}

/// A deadline as the time left: `until +1.500s`, or `due` once passed.
struct Until(Instant);

impl fmt::Display for Until {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.checked_duration_since(Instant::now()) {
            Some(left) => write!(f, "until +{:.3}s", left.as_secs_f64()),
            None => f.write_str("due"),
        }
    }
}
