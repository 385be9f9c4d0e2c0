import KubeClient

/// A one-shot signal that several tasks can wait for, without polling.
public final class Latch: Sendable {
    private let state = Locked<(signalled: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    public var isSignalled: Bool { state.withLock { $0.signalled } }

    public func signal() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.signalled else { return [] }
            s.signalled = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    public func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.signalled { return true }
                s.waiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Returns once either latch is signalled.
    public static func first(_ a: Latch, _ b: Latch) async {
        let either = Latch()
        // The waiter on the other latch stays parked until that latch fires (both do by the end of a run).
        Task { await a.wait(); either.signal() }
        Task { await b.wait(); either.signal() }
        await either.wait()
    }
}
