import Foundation
import KubeClient
import YAML

/// Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics:
/// - a lease held by someone else is valid until `leaseDuration` after *we* last saw it change (local observed
///   time, so clock skew between nodes does not matter);
/// - taking over increments `leaseTransitions`; every write is a PUT carrying the read resourceVersion, so a
///   409 means another candidate won the race;
/// - a leader that cannot renew within `renewDeadline` steps down; on shutdown it releases the lease.
public final class LeaderElector<C: Clock>: Sendable where C.Duration == Duration {
    public struct Config: Sendable {
        public var namespace: String
        public var name: String
        public var identity: String
        public var leaseDuration: Duration = .seconds(15)
        public var renewDeadline: Duration = .seconds(10)
        public var retryPeriod: Duration = .seconds(2)
        public init(namespace: String, name: String, identity: String) {
            self.namespace = namespace
            self.name = name
            self.identity = identity
        }
    }

    public let config: Config
    private let client: RESTClient
    private let clock: C
    private let wallClock: @Sendable () -> Date
    private let state = Locked<(observed: JSONValue?, observedAt: C.Instant?, leading: Bool)>((nil, nil, false))

    public init(client: RESTClient, config: Config, clock: C, wallClock: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.config = config
        self.clock = clock
        self.wallClock = wallClock
    }

    public var isLeader: Bool { state.withLock { $0.leading } }

    /// Campaigns until leading, runs `lead` while leadership lasts, and returns when leadership is lost or the
    /// task is cancelled (then the lease is released). `lead` is cancelled when leadership is lost.
    public func run(lead: @escaping @Sendable () async -> Void) async {
        // Acquire.
        while !Task.isCancelled {
            if await tryAcquireOrRenew() { break }
            do { try await clock.sleep(until: clock.now.advanced(by: config.retryPeriod), tolerance: nil) } catch { return }
        }
        guard !Task.isCancelled else {
            // Cancelled just as we acquired: give the lease back rather than make the next leader wait.
            await Task { await self.release() }.value
            return
        }
        state.withLock { $0.leading = true }
        let leading = Task { await lead() }
        // Renew until we cannot, or until cancelled. Each renewal must finish before `renewDeadline` after the
        // last successful one was *sent* (client-go runs it under that timeout): a hung request must not keep us
        // leading past the point where another candidate may take over (`renewDeadline < leaseDuration`).
        var lastRenew = clock.now
        while !Task.isCancelled {
            do { try await clock.sleep(until: clock.now.advanced(by: config.retryPeriod), tolerance: nil) } catch { break }
            let sent = clock.now
            if await renew(before: lastRenew.advanced(by: config.renewDeadline)) {
                lastRenew = sent
            } else if lastRenew.duration(to: clock.now) >= config.renewDeadline {
                break  // lost leadership
            }
        }
        state.withLock { $0.leading = false }
        leading.cancel()
        await leading.value
        // Our own task is cancelled, which would cancel the release's requests too: release from a fresh task.
        if Task.isCancelled { await Task { await self.release() }.value }
    }

    /// `tryAcquireOrRenew`, abandoned (false) if it has not finished by `deadline`.
    private func renew(before deadline: C.Instant) async -> Bool {
        await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await self.tryAcquireOrRenew() }
            group.addTask {
                try? await self.clock.sleep(until: deadline, tolerance: nil)
                return nil  // the deadline passed first
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? false
        }
    }

    /// One round: create, renew, or take over the lease. Returns whether we hold it now.
    public func tryAcquireOrRenew() async -> Bool {
        let now = wallClock()
        let path = GroupVersionResource.leases
        let existing: JSONValue
        do {
            existing = try await client.get(path, namespace: config.namespace, name: config.name)
        } catch let e as KubeAPIError where e.isNotFound {
            let lease: JSONValue = [
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": ["name": .string(config.name), "namespace": .string(config.namespace)],
                "spec": record(acquire: now, renew: now, transitions: 0),
            ]
            do {
                let created = try await client.create(path, namespace: config.namespace, lease)
                observe(created)
                return true
            } catch {
                return false
            }
        } catch {
            return false
        }

        let spec = existing["spec"] ?? [:]
        let holder = spec["holderIdentity"]?.stringValue ?? ""
        observe(existing)
        let observedAt = state.withLock { $0.observedAt } ?? clock.now
        let stillValid = observedAt.duration(to: clock.now) < config.leaseDuration
        if !holder.isEmpty && holder != config.identity && stillValid {
            return false  // someone else leads and has renewed recently
        }
        let transitions = spec["leaseTransitions"]?.intValue ?? 0
        var updated = existing
        if holder == config.identity {
            var r = record(acquire: now, renew: now, transitions: transitions)
            r["acquireTime"] = spec["acquireTime"] ?? .string(RFC3339.format(now, fractionDigits: 6))
            updated["spec"] = r
        } else {
            updated["spec"] = record(acquire: now, renew: now, transitions: transitions + 1)
        }
        do {
            let written = try await client.update(path, namespace: config.namespace, updated)
            observe(written)
            return true
        } catch {
            return false  // 409: another candidate won; anything else: try again next round
        }
    }

    /// Gives the lease up so another candidate can take over at once.
    public func release() async {
        guard let lease = try? await client.get(.leases, namespace: config.namespace, name: config.name),
              lease["spec"]?["holderIdentity"]?.stringValue == config.identity else { return }
        var updated = lease
        let now = wallClock()
        var r = record(acquire: now, renew: now, transitions: lease["spec"]?["leaseTransitions"]?.intValue ?? 0)
        r["holderIdentity"] = ""
        r["leaseDurationSeconds"] = 1
        updated["spec"] = r
        _ = try? await client.update(.leases, namespace: config.namespace, updated)
    }

    private func record(acquire: Date, renew: Date, transitions: Int64) -> JSONValue {
        [
            "holderIdentity": .string(config.identity),
            "leaseDurationSeconds": .int(Int64(config.leaseDuration.components.seconds)),
            "acquireTime": .string(RFC3339.format(acquire, fractionDigits: 6)),
            "renewTime": .string(RFC3339.format(renew, fractionDigits: 6)),
            "leaseTransitions": .int(transitions),
        ]
    }

    /// Records when the lease record last changed, by our own clock.
    private func observe(_ lease: JSONValue) {
        let spec = lease["spec"]
        state.withLock { s in
            if s.observed != spec || s.observedAt == nil {
                s.observed = spec
                s.observedAt = clock.now
            }
        }
    }
}
