//! Context variables, after Python's `contextvars` as asyncio uses them.
//!
//! Every Ravel task runs inside its own context: an immutable map from
//! variable id to value. Spawning a task takes a snapshot of the spawner's
//! current context, so later [`ContextVar::set`]s in the parent are invisible
//! to the child and the other way round. Code running on a plain thread,
//! outside any task, uses a per-thread context of its own.
//!
//! The map is copy-on-write (`Arc<HashMap<..>>`): a snapshot is an `Arc`
//! clone, and a `set` clones the map only when it is shared. A context in
//! which nothing was ever set holds no map at all, so entering and leaving it
//! (which happens on every poll of a task) allocates nothing.
#![forbid(unsafe_code)]

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

/// A value stored in a context map.
type Value = Arc<dyn Any + Send + Sync>;

/// The map a context holds: variable id to value.
type Map = HashMap<u64, Value>;

/// Source of variable ids; 0 means "not yet assigned".
static NEXT_VAR_ID: AtomicU64 = AtomicU64::new(1);

/// Source of context identities; 0 means "not yet assigned".
static NEXT_CONTEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Hands out a fresh context identity.
fn next_context_id() -> u64 {
    NEXT_CONTEXT_ID.fetch_add(1, Ordering::Relaxed)
}

thread_local! {
    /// The context of the code running on this thread: the running task's
    /// while a task is being polled, the thread's own otherwise.
    static CURRENT: RefCell<Context> = const { RefCell::new(Context::EMPTY) };
}

/// A context variable: a key whose value depends on the context it is
/// read in, like Python's `contextvars.ContextVar`.
///
/// A `ContextVar` is usually a `static`. Its value is per task: a task sees
/// what was set in its own context, or what its spawner had set when the task
/// was spawned; a plain thread sees what was set on that thread.
///
/// # Example
///
/// ```
/// use ravel::context::ContextVar;
///
/// static REQUEST_ID: ContextVar<u32> = ContextVar::new("request_id");
/// static LEVEL: ContextVar<&str> = ContextVar::with_default("level", "info");
///
/// assert_eq!(REQUEST_ID.get(), None);
/// assert_eq!(LEVEL.get(), Some("info"));
///
/// let token = REQUEST_ID.set(7);
/// assert_eq!(REQUEST_ID.get(), Some(7));
/// assert_eq!(token.old_value(), None);
///
/// // Restore the value the variable had before `set`.
/// assert!(REQUEST_ID.reset(token).is_ok());
/// assert_eq!(REQUEST_ID.get(), None);
///
/// // Another thread has a context of its own.
/// REQUEST_ID.set(1);
/// std::thread::spawn(|| assert_eq!(REQUEST_ID.get(), None)).join().unwrap();
/// assert_eq!(REQUEST_ID.get(), Some(1));
/// ```
///
/// A variable that is dropped (one that is not a `static`) leaves its values
/// in the contexts that hold them until those contexts are dropped.
pub struct ContextVar<T: Clone + Send + Sync + 'static> {
    /// Name given at construction, for diagnostics.
    name: &'static str,
    /// Key in context maps; 0 until first use, then fixed.
    id: AtomicU64,
    /// Value returned by `get` when the current context has none.
    default: Option<T>,
}

impl<T: Clone + Send + Sync + 'static> ContextVar<T> {
    /// Creates a variable with no default: [`get`](Self::get) returns `None`
    /// until a value is set.
    #[must_use]
    pub const fn new(name: &'static str) -> Self {
        ContextVar { name, id: AtomicU64::new(0), default: None }
    }

    /// Creates a variable whose [`get`](Self::get) returns `default` in
    /// contexts where it was never set.
    #[must_use]
    pub const fn with_default(name: &'static str, default: T) -> Self {
        ContextVar { name, id: AtomicU64::new(0), default: Some(default) }
    }

    /// The name given at construction.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The variable's key in context maps, assigned on first use.
    fn id(&self) -> u64 {
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        let fresh = NEXT_VAR_ID.fetch_add(1, Ordering::Relaxed);
        match self.id.compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => fresh,
            Err(assigned) => assigned,
        }
    }

    /// The value in the current context, else the default, else `None`.
    ///
    /// (Python raises `LookupError` where this returns `None`.) Only the
    /// value is cloned, never the context's map.
    pub fn get(&self) -> Option<T> {
        let id = self.id();
        let found = CURRENT.try_with(|current| {
            let current = current.borrow();
            let value = current.map.as_ref()?.get(&id)?;
            value.downcast_ref::<T>().cloned()
        });
        match found {
            Ok(Some(value)) => Some(value),
            // Not set here, or this thread's locals are being destroyed.
            _ => self.default.clone(),
        }
    }

    /// Sets the value in the current context and returns a [`Token`] that
    /// [`reset`](Self::reset) can use to restore the previous value.
    ///
    /// Only the current context changes: the running task's inside a task,
    /// this thread's otherwise.
    ///
    /// # Panics
    ///
    /// If called while this thread's thread-locals are being destroyed.
    pub fn set(&self, value: T) -> Token<T> {
        let var_id = self.id();
        let value: Value = Arc::new(value);
        let (old, context_id) = CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            let context_id = current.ensure_id();
            let map = current.map.get_or_insert_with(Default::default);
            let old = Arc::make_mut(map).insert(var_id, value);
            (old, context_id)
        });
        Token { var_id, var_name: self.name, context_id, old: old.and_then(|old| old.downcast::<T>().ok()) }
    }

    /// Restores the value the variable had before the [`set`](Self::set)
    /// that returned `token` (removing it if it had none).
    ///
    /// # Errors
    ///
    /// [`Error::invalid_state`](crate::Error::invalid_state), with asyncio's
    /// messages, if the token was created by a different `ContextVar`
    /// (`"<Token ...> was created by a different ContextVar"`) or in a
    /// different context (`"<Token ...> was created in a different
    /// Context"`). The token is consumed either way.
    ///
    /// Python's third error, "has already been used once", cannot happen:
    /// `reset` takes the token by value and `Token` is not `Clone`, so using
    /// one twice does not compile:
    ///
    /// ```compile_fail
    /// use ravel::context::ContextVar;
    ///
    /// static X: ContextVar<u32> = ContextVar::new("x");
    /// let token = X.set(1);
    /// let _ = X.reset(token);
    /// let _ = X.reset(token); // error: use of moved value
    /// ```
    pub fn reset(&self, token: Token<T>) -> crate::Result<()> {
        self.reset_inner(token).map_err(crate::Error::invalid_state)
    }

    /// [`reset`](Self::reset), with the error as its message.
    fn reset_inner(&self, token: Token<T>) -> Result<(), String> {
        if token.var_id != self.id() {
            return Err(format!("{token:?} was created by a different ContextVar"));
        }
        let message = format!("{token:?} was created in a different Context");
        let Token { var_id, context_id, old, .. } = token;
        // Whatever the reset unlinks is dropped after the borrow ends, so a
        // value whose `Drop` touches context variables does not panic.
        let garbage = CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            if current.id != context_id {
                return Err(message);
            }
            let garbage: (Option<Value>, Option<Arc<Map>>) = match old {
                Some(old) => {
                    let map = current.map.get_or_insert_with(Default::default);
                    (Arc::make_mut(map).insert(var_id, old), None)
                }
                None => match current.map.as_mut() {
                    Some(map) if map.len() == 1 && map.contains_key(&var_id) => {
                        // Back to an empty context: drop the map altogether.
                        (None, current.map.take())
                    }
                    Some(map) if map.contains_key(&var_id) => (Arc::make_mut(map).remove(&var_id), None),
                    _ => (None, None),
                },
            };
            Ok(garbage)
        })?;
        drop(garbage);
        Ok(())
    }
}

impl<T: Clone + Send + Sync + 'static> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<ContextVar name='{}' id={}", self.name, self.id())?;
        if self.default.is_some() {
            f.write_str(" default=...")?;
        }
        f.write_str(">")
    }
}

/// What [`ContextVar::set`] returns: the variable's previous value and where
/// it was set, for [`ContextVar::reset`].
///
/// A token is not `Clone`, so it can be used at most once.
pub struct Token<T> {
    /// Id of the variable that created the token.
    var_id: u64,
    /// Name of that variable, for diagnostics.
    var_name: &'static str,
    /// Identity of the context the token was created in.
    context_id: u64,
    /// The value before `set`; `None` if the variable had none.
    old: Option<Arc<T>>,
}

impl<T> Token<T> {
    /// The value the variable had in this context before the `set` that
    /// returned this token; `None` if it had none (a default does not count),
    /// which is Python's `Token.MISSING`.
    #[must_use]
    pub fn old_value(&self) -> Option<&T> {
        self.old.as_deref()
    }
}

impl<T> fmt::Debug for Token<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Token var=<ContextVar name='{}' id={}> context={}{}>",
            self.var_name,
            self.var_id,
            self.context_id,
            if self.old.is_some() { "" } else { " old_value=MISSING" },
        )
    }
}

/// A set of context-variable values: what a task runs in.
///
/// Cloning keeps the identity: a clone is the same logical context (as when
/// the scheduler holds on to a task's context). [`Context::current`] makes a
/// copy with an identity of its own, which is what spawning does.
#[derive(Clone, Default)]
pub(crate) struct Context {
    /// The values; `None` while nothing is set, so that entering the context
    /// does not touch the allocator.
    map: Option<Arc<Map>>,
    /// Identity checked by `ContextVar::reset`; 0 until first needed.
    id: u64,
}

impl Context {
    /// An empty context with no identity yet.
    const EMPTY: Context = Context { map: None, id: 0 };

    /// The context's identity, assigned now if it has none yet.
    fn ensure_id(&mut self) -> u64 {
        if self.id == 0 {
            self.id = next_context_id();
        }
        self.id
    }

    /// A snapshot of the running code's context, with an identity of its
    /// own (assigned on first `set`): what a task spawned now should run in.
    /// O(1): shares the map.
    pub(crate) fn current() -> Context {
        // The identity is assigned lazily by the first `set` (the only
        // place a token records it): spawning takes no global counter.
        let map = CURRENT.try_with(|current| current.borrow().map.clone()).ok().flatten();
        Context { map, id: 0 }
    }

    /// Runs `f` with `self` as this thread's current context, then puts the
    /// previous context back (even if `f` panics) and keeps whatever `f` set
    /// in `self`. The identity of `self` is the same across calls, so a token
    /// created in one `run` can be reset in a later one.
    ///
    /// Running two clones of one context nested inside each other is not
    /// detected (Python refuses to enter an entered context); the inner
    /// run's changes then go to the inner clone only.
    ///
    /// # Panics
    ///
    /// If called while this thread's thread-locals are being destroyed.
    pub(crate) fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        /// Swaps the outer context back in on drop, and the inner one out
        /// into the `Context` that `run` was called on.
        struct Restore<'a> {
            slot: &'a mut Context,
            outer: Context,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let outer = std::mem::take(&mut self.outer);
                *self.slot = CURRENT.with(|current| current.replace(outer));
            }
        }

        /// Fast path's guard: whatever `f` left current belongs to `slot`;
        /// the thread's context goes back to empty.
        struct Capture<'a> {
            slot: &'a mut Context,
        }
        impl Drop for Capture<'_> {
            fn drop(&mut self) {
                let _ = CURRENT.try_with(|current| {
                    let mut current = current.borrow_mut();
                    if !current.is_empty() {
                        *self.slot = std::mem::take(&mut *current);
                    }
                });
            }
        }

        // Entering an empty context while the thread's is empty (every poll
        // of a task that never set a variable): nothing to swap.
        if self.is_empty() && CURRENT.with(|current| current.borrow().is_empty()) {
            let _capture = Capture { slot: self };
            return f();
        }
        let inner = std::mem::take(self);
        let outer = CURRENT.with(|current| current.replace(inner));
        let _restore = Restore { slot: self, outer };
        f()
    }

    /// No values and no identity: indistinguishable from a fresh context.
    fn is_empty(&self) -> bool {
        self.map.is_none() && self.id == 0
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .field("vars", &self.map.as_ref().map_or(0, |map| map.len()))
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// A future that polls `inner` inside `ctx`, so everything it sets stays
    /// in `ctx` from one poll to the next: how a task carries its context.
    pub(crate) struct WithContext<F> {
        ctx: Context,
        #[pin]
        inner: F,
    }
}

impl<F> WithContext<F> {
    /// Wraps `inner` so that it is always polled inside `ctx`.
    pub(crate) fn new(ctx: Context, inner: F) -> Self {
        WithContext { ctx, inner }
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let inner = this.inner;
        this.ctx.run(|| inner.poll(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    static NUM: ContextVar<u32> = ContextVar::new("num");
    static WITH_DEFAULT: ContextVar<u32> = ContextVar::with_default("with_default", 5);
    static NAME: ContextVar<String> = ContextVar::with_default("name", String::new());

    #[test]
    fn get_set_reset_round_trip() {
        let var = ContextVar::<String>::new("s");
        assert_eq!(var.name(), "s");
        assert_eq!(var.get(), None);

        let first = var.set("a".to_string());
        assert_eq!(first.old_value(), None);
        assert_eq!(var.get().as_deref(), Some("a"));

        let second = var.set("b".to_string());
        assert_eq!(second.old_value().map(String::as_str), Some("a"));
        assert_eq!(var.get().as_deref(), Some("b"));

        assert!(var.reset(second).is_ok());
        assert_eq!(var.get().as_deref(), Some("a"));
        assert!(var.reset(first).is_ok());
        assert_eq!(var.get(), None);
    }

    #[test]
    fn default_value() {
        assert_eq!(WITH_DEFAULT.get(), Some(5));
        let token = WITH_DEFAULT.set(6);
        // A default is not an old value.
        assert_eq!(token.old_value(), None);
        assert_eq!(WITH_DEFAULT.get(), Some(6));
        assert!(WITH_DEFAULT.reset(token).is_ok());
        assert_eq!(WITH_DEFAULT.get(), Some(5));

        assert_eq!(NAME.get().as_deref(), Some(""));
        NAME.set("x".into());
        assert_eq!(NAME.get().as_deref(), Some("x"));
    }

    #[test]
    fn static_var_is_per_thread_outside_tasks() {
        NUM.set(1);
        assert_eq!(NUM.get(), Some(1));
        std::thread::spawn(|| {
            assert_eq!(NUM.get(), None);
            NUM.set(2);
            assert_eq!(NUM.get(), Some(2));
        })
        .join()
        .unwrap();
        assert_eq!(NUM.get(), Some(1));
    }

    #[test]
    fn two_vars_are_independent() {
        let a = ContextVar::<u32>::new("a");
        let b = ContextVar::<u32>::new("b");
        let ta = a.set(1);
        b.set(2);
        assert_eq!((a.get(), b.get()), (Some(1), Some(2)));
        assert!(a.reset(ta).is_ok());
        assert_eq!((a.get(), b.get()), (None, Some(2)));
    }

    #[test]
    fn same_type_different_vars_do_not_share_values() {
        let a = ContextVar::<u32>::new("a");
        let b = ContextVar::<u32>::with_default("b", 9);
        a.set(1);
        assert_eq!(b.get(), Some(9));
    }

    #[test]
    fn snapshot_isolation() {
        let var = ContextVar::<u32>::new("v");
        var.set(1);
        let mut snapshot = Context::current();

        // A set in the parent after the snapshot is not seen by it.
        var.set(2);
        assert_eq!(snapshot.run(|| var.get()), Some(1));

        // A set inside the snapshot is not seen outside...
        snapshot.run(|| {
            var.set(3);
            assert_eq!(var.get(), Some(3));
        });
        assert_eq!(var.get(), Some(2));
        // ...but is seen by a later run of the same context.
        assert_eq!(snapshot.run(|| var.get()), Some(3));
    }

    #[test]
    fn snapshot_is_o1_and_gets_a_fresh_identity() {
        let var = ContextVar::<u32>::new("v");
        var.set(1);
        let mut a = Context::current();
        let mut b = Context::current();
        let (ma, mb) = (a.map.as_ref().unwrap(), b.map.as_ref().unwrap());
        assert!(Arc::ptr_eq(ma, mb));
        // Identities are assigned by the first `set`, not by the snapshot.
        assert_eq!((a.id, b.id), (0, 0));
        let ta = a.run(|| var.set(2));
        let tb = b.run(|| var.set(3));
        assert_ne!(a.id, b.id);
        assert_ne!(a.id, 0);
        // Each token belongs to its own context.
        assert!(b.run(|| var.reset(ta)).is_err());
        assert!(a.run(|| var.reset(tb)).is_err());
        // A clone is the same logical context.
        assert_eq!(a.clone().id, a.id);
    }

    #[test]
    fn reset_with_token_of_another_var_fails() {
        let a = ContextVar::<u32>::new("a");
        let b = ContextVar::<u32>::new("b");
        let token = a.set(1);
        let debug = format!("{token:?}");
        assert_eq!(b.reset_inner(token), Err(format!("{debug} was created by a different ContextVar")));
        assert!(b.reset(a.set(2)).is_err());
        // Nothing was reset.
        assert_eq!(a.get(), Some(2));
    }

    #[test]
    fn reset_in_another_context_fails() {
        let var = ContextVar::<u32>::new("v");
        let token = var.set(1);
        let debug = format!("{token:?}");
        let mut ctx = Context::current();
        let result = ctx.run(|| var.reset_inner(token));
        assert_eq!(result, Err(format!("{debug} was created in a different Context")));
        let token = var.set(2);
        assert!(ctx.run(|| var.reset(token)).is_err());

        // And the other way round: a token from inside a context.
        let token = ctx.run(|| var.set(3));
        assert!(var.reset(token).is_err());
        assert_eq!(var.get(), Some(2));
    }

    #[test]
    fn another_threads_token_is_from_a_different_context() {
        let var = Arc::new(ContextVar::<u32>::new("v"));
        let token = {
            let var = Arc::clone(&var);
            std::thread::spawn(move || var.set(1)).join().unwrap()
        };
        assert!(var.reset(token).is_err());
    }

    #[test]
    fn token_resets_in_a_later_run_of_the_same_context() {
        let var = ContextVar::<u32>::new("v");
        let mut ctx = Context::default();
        let token = ctx.run(|| var.set(1));
        assert!(ctx.run(|| var.reset(token)).is_ok());
        assert_eq!(ctx.run(|| var.get()), None);
        // Back to an empty context: no map left to carry around.
        assert!(ctx.map.is_none());
    }

    #[test]
    fn reset_copies_a_shared_map_instead_of_changing_it() {
        let var = ContextVar::<u32>::new("v");
        let other = ContextVar::<u32>::new("other");
        other.set(7);
        var.set(1);
        let token = var.set(2);
        let mut snapshot = Context::current();
        assert!(var.reset(token).is_ok());
        assert_eq!(var.get(), Some(1));
        assert_eq!(snapshot.run(|| var.get()), Some(2));
    }

    #[test]
    fn nested_run_restores_outer_context() {
        let var = ContextVar::<u32>::new("v");
        var.set(0);
        let mut outer = Context::current();
        let mut inner = Context::current();
        outer.run(|| {
            var.set(1);
            inner.run(|| {
                assert_eq!(var.get(), Some(0));
                var.set(2);
            });
            assert_eq!(var.get(), Some(1));
        });
        assert_eq!(var.get(), Some(0));
        assert_eq!(outer.run(|| var.get()), Some(1));
        assert_eq!(inner.run(|| var.get()), Some(2));
    }

    #[test]
    fn panic_inside_run_restores_outer_context() {
        let var = ContextVar::<u32>::new("v");
        var.set(0);
        let mut ctx = Context::current();
        let result = catch_unwind(AssertUnwindSafe(|| {
            ctx.run(|| {
                var.set(1);
                panic!("boom");
            });
        }));
        assert!(result.is_err());
        assert_eq!(var.get(), Some(0));
        // What was set before the panic stayed in the context.
        assert_eq!(ctx.run(|| var.get()), Some(1));
        // And the thread can set again (no borrow left behind).
        var.set(2);
        assert_eq!(var.get(), Some(2));
    }

    #[test]
    fn drop_of_replaced_value_may_use_context_vars() {
        static SEEN: ContextVar<u32> = ContextVar::new("seen");
        #[derive(Clone)]
        struct Noisy;
        impl Drop for Noisy {
            fn drop(&mut self) {
                SEEN.set(SEEN.get().unwrap_or(0) + 1);
            }
        }
        let var = ContextVar::<Noisy>::new("noisy");
        let token = var.set(Noisy);
        assert!(var.reset(token).is_ok());
        assert_eq!(SEEN.get(), Some(1));
    }

    /// A waker that counts its wakes.
    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Sets `var` on its first poll and reads it on the second.
    struct SetThenRead {
        var: Arc<ContextVar<u32>>,
        polled: bool,
    }

    impl Future for SetThenRead {
        type Output = Option<u32>;

        fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<u32>> {
            if self.polled {
                return Poll::Ready(self.var.get());
            }
            self.polled = true;
            self.var.set(42);
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn with_context_keeps_values_across_polls() {
        let var = Arc::new(ContextVar::<u32>::new("v"));
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&wakes));
        let mut cx = TaskContext::from_waker(&waker);

        let inner = SetThenRead { var: Arc::clone(&var), polled: false };
        let mut fut = Box::pin(WithContext::new(Context::current(), inner));
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        // The set stayed inside the task's context.
        assert_eq!(var.get(), None);

        // Second poll on another thread: the context travels with the task.
        let result = std::thread::spawn(move || {
            let waker = Waker::from(Arc::new(CountWakes(AtomicUsize::new(0))));
            let result = fut.as_mut().poll(&mut TaskContext::from_waker(&waker));
            assert_eq!(var.get(), None);
            result
        })
        .join()
        .unwrap();
        assert_eq!(result, Poll::Ready(Some(42)));
    }

    #[test]
    fn with_context_of_an_empty_context_holds_no_map() {
        let mut fut = Box::pin(WithContext::new(Context::default(), std::future::ready(NUM.get())));
        let waker = Waker::from(Arc::new(CountWakes(AtomicUsize::new(0))));
        assert_eq!(fut.as_mut().poll(&mut TaskContext::from_waker(&waker)), Poll::Ready(None));
        assert!(fut.ctx.map.is_none());
        assert_eq!(fut.ctx.id, 0, "no identity until something is set");
    }

    #[test]
    fn context_moved_to_another_thread_keeps_its_values() {
        let var = Arc::new(ContextVar::<String>::new("v"));
        var.set("parent".into());
        let mut ctx = Context::current();
        let (ctx, token) = {
            let var = Arc::clone(&var);
            std::thread::spawn(move || {
                // Not this thread's own context...
                assert_eq!(var.get(), None);
                // ...but visible when the context runs here.
                let token = ctx.run(|| {
                    assert_eq!(var.get().as_deref(), Some("parent"));
                    var.set("child".into())
                });
                (ctx, token)
            })
            .join()
            .unwrap()
        };
        let mut ctx = ctx;
        assert_eq!(ctx.run(|| var.get()).as_deref(), Some("child"));
        assert_eq!(var.get().as_deref(), Some("parent"));
        // The token belongs to the context, not to a thread.
        assert!(ctx.run(|| var.reset(token)).is_ok());
        assert_eq!(ctx.run(|| var.get()).as_deref(), Some("parent"));
    }

    #[test]
    fn debug_formats() {
        let var = ContextVar::<u32>::with_default("dbg", 1);
        let rendered = format!("{var:?}");
        assert!(rendered.starts_with("<ContextVar name='dbg' id="), "{rendered}");
        assert!(rendered.ends_with(" default=...>"), "{rendered}");
        assert!(!format!("{:?}", ContextVar::<u32>::new("n")).contains("default"));

        let first = var.set(2);
        let rendered = format!("{first:?}");
        assert!(rendered.starts_with("<Token var=<ContextVar name='dbg' id="));
        assert!(rendered.ends_with(" old_value=MISSING>"), "{rendered}");
        let second = var.set(3);
        assert!(!format!("{second:?}").contains("MISSING"));
    }

    #[test]
    fn var_ids_are_assigned_once_and_distinct() {
        let a = ContextVar::<u32>::new("a");
        let b = ContextVar::<u32>::new("b");
        assert_eq!(a.id.load(Ordering::Relaxed), 0);
        let id = a.id();
        assert_ne!(id, 0);
        assert_eq!(a.id(), id);
        assert_ne!(b.id(), id);
    }

    #[test]
    fn types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ContextVar<String>>();
        assert_send_sync::<Token<String>>();
        assert_send_sync::<Context>();
        assert_send_sync::<WithContext<std::future::Ready<()>>>();
    }
}
