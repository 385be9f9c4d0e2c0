import Foundation

/// A value guarded by a pthread mutex (via NSLock), with the same `withLock` shape as `Synchronization.Mutex`.
///
/// Used instead of `Mutex` because ThreadSanitizer on Linux sees pthread locks (it intercepts them) but not
/// the standard library's futex-based `Mutex`, and the transport is meant to run clean under `--sanitize=thread`.
package final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    @discardableResult
    package func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
