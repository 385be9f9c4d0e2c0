import Foundation
import KubeClient
import KubeEmulator
import Logging
import Testing
import YAML

@testable import KubeRuntime

/// Records every reconciled key, and what the shared caches held at that moment.
final class RecordingReconciler: Reconciler {
    let keys = Locked<[ObjectKey]>([])
    let cacheSizes = Locked<[Int]>([])
    let cache: ObjectStore?
    init(cache: ObjectStore? = nil) { self.cache = cache }
    func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        keys.withLock { $0.append(key) }
        if let cache { cacheSizes.withLock { $0.append(cache.count) } }
        return .done
    }
    func count(_ key: ObjectKey) -> Int { keys.withLock { $0.filter { $0 == key }.count } }
}

private let silent: Logger = {
    var l = Logger(label: "manager-test")
    l.logLevel = .critical
    return l
}()

private func deployment(_ name: String, ownedBy owner: String? = nil, replicas: Int = 1) -> JSONValue {
    var meta: JSONValue = ["name": .string(name), "namespace": "default"]
    if let owner {
        meta["ownerReferences"] = [["apiVersion": "heteroscale.io/v1alpha1", "kind": "DeploymentGroup", "name": .string(owner),
                                    "uid": .string("u-\(owner)"), "controller": true]]
    }
    return ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": ["replicas": .int(Int64(replicas)), "selector": ["matchLabels": ["app": .string(name)]],
                     "template": ["metadata": ["labels": ["app": .string(name)]], "spec": ["containers": [["name": "c", "image": "i"]]]]]]
}

/// The controller runtime (controller-runtime's Manager): shared informers, signalled cache sync, owner triggers,
/// per-controller queues and metrics.
@Suite(.serialized) struct ManagerTests {
    @Test func controllersShareInformersAndStartOnSyncedCaches() async throws {
        let f = try await EmulatorFixture.start()
        for i in 0..<5 { _ = try await f.client.create(.deployments, namespace: "default", deployment("d\(i)")) }
        let registry = MetricsRegistry()
        let manager = Manager(client: f.client, configuration: .init(namespace: "default"), registry: registry, logger: silent)
        let shared = manager.informer(.deployments)
        #expect(manager.informer(.deployments) === shared, "one informer per resource")
        let a = RecordingReconciler(cache: shared.store), b = RecordingReconciler(cache: shared.store)
        manager.add(ControllerDefinition(name: "a", reconciler: a, watches: [.primary(.deployments)], workers: 1))
        manager.add(ControllerDefinition(name: "b", reconciler: b, watches: [.primary(.deployments)], workers: 1))
        let run = Task { try await manager.run() }
        await waitUntil("both controllers reconciled every object") { a.keys.withLock { $0.count } >= 5 && b.keys.withLock { $0.count } >= 5 }
        // Workers start only once the cache is synced: the first reconcile already sees every object.
        #expect(a.cacheSizes.withLock { $0.first } == 5)
        #expect(shared.counts.lists == 1, "the shared informer listed once for both controllers")
        // A spec change (generation bump) reaches both controllers; a status-only change reaches neither.
        let d0 = ObjectKey(namespace: "default", name: "d0")
        _ = try await f.client.patch(.deployments, namespace: "default", name: "d0", type: .merge, ["spec": ["replicas": 2]])
        await waitUntil("the spec change reached both") { a.count(d0) >= 2 && b.count(d0) >= 2 }
        var status = try await f.client.get(.deployments, namespace: "default", name: "d1")
        status["status"] = ["observedGeneration": 1, "replicas": 1]
        _ = try await f.client.update(.deployments, namespace: "default", status, subresource: "status")
        _ = try await f.client.patch(.deployments, namespace: "default", name: "d2", type: .merge, ["spec": ["replicas": 3]])
        let d2 = ObjectKey(namespace: "default", name: "d2")
        await waitUntil("a later spec change arrived") { a.count(d2) >= 2 && b.count(d2) >= 2 }
        #expect(a.count(ObjectKey(namespace: "default", name: "d1")) == 1, "a status-only update is not reconciled")
        // Metrics per controller name.
        await waitUntil("reconciles counted") { (registry.value(RuntimeMetricNames.reconcileTotal, ["controller": "b", "result": "success"]) ?? 0) >= 7 }
        #expect(registry.value(RuntimeMetricNames.reconcileTotal, ["controller": "a", "result": "success"]) == 7)
        #expect(registry.value(RuntimeMetricNames.maxConcurrentReconciles, ["controller": "a"]) == 1)
        let text = await registry.render()
        #expect(text.contains(#"workqueue_adds_total{name="a"}"#) && text.contains(#"workqueue_adds_total{name="b"}"#))
        #expect(text.contains(#"leader_election_master_status{name="heteroscale-controller"} 1"#))
        manager.shutdown()
        try await run.value
        await f.stop()
    }

    /// controller-runtime's `Owns`: a change to an owned Deployment enqueues its controlling DeploymentGroup; a
    /// Deployment without a controller owner, or owned by another kind, enqueues nothing.
    @Test func ownedObjectsTriggerTheirOwner() async throws {
        let f = try await EmulatorFixture.start()
        let manager = Manager(client: f.client, configuration: .init(namespace: "default"), registry: MetricsRegistry(), logger: silent)
        let r = RecordingReconciler()
        manager.add(ControllerDefinition(name: "groups", reconciler: r,
                                         watches: [.owned(.deployments, ownerKind: "DeploymentGroup", ownerAPIGroup: "heteroscale.io")]))
        let run = Task { try await manager.run() }
        await waitUntil("synced") { manager.hasSynced }
        _ = try await f.client.create(.deployments, namespace: "default", deployment("g1-prefill", ownedBy: "g1"))
        _ = try await f.client.create(.deployments, namespace: "default", deployment("loose"))
        let g1 = ObjectKey(namespace: "default", name: "g1")
        await waitUntil("the owner was enqueued") { r.count(g1) >= 1 }
        _ = try await f.client.patch(.deployments, namespace: "default", name: "g1-prefill", type: .merge, ["spec": ["replicas": 3]])
        await waitUntil("a change to the child enqueues the owner again") { r.count(g1) >= 2 }
        #expect(r.keys.withLock { $0 }.allSatisfy { $0 == g1 }, "\(r.keys.withLock { $0 })")
        manager.shutdown()
        try await run.value
        await f.stop()
    }

    static let ownerCases: [(JSONValue, String?)] = [
        (["metadata": ["ownerReferences": [["apiVersion": "heteroscale.io/v1alpha1", "kind": "DeploymentGroup", "name": "g", "controller": true]]]], "g"),
        (["metadata": ["ownerReferences": [["apiVersion": "heteroscale.io/v1alpha1", "kind": "DeploymentGroup", "name": "g"]]]], nil),
        (["metadata": ["ownerReferences": [["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "controller": true]]]], nil),
        (["metadata": ["name": "x"]], nil),
    ]

    @Test(arguments: ownerCases)
    func ownerMappingFollowsTheControllerReference(object: JSONValue, owner: String?) {
        let keys = Watch.owned(.deployments, ownerKind: "DeploymentGroup", ownerAPIGroup: "heteroscale.io").map(.added(object))
        #expect(keys.map(\.name) == (owner.map { [$0] } ?? []))
    }

    @Test func shutdownBeforeTheCachesSyncReturns() async throws {
        let f = try await EmulatorFixture.start()
        f.emulator.injectFault(FaultRule(method: "GET", pathContains: "/leases", action: .fail(code: 503)))
        let manager = Manager(client: f.client, configuration: .init(namespace: "default"), registry: MetricsRegistry(), logger: silent)
        manager.add(ControllerDefinition(name: "a", reconciler: RecordingReconciler(), watches: [.primary(.leases)]))
        let run = Task { try await manager.run() }
        await waitUntil("the list failed") { manager.notReadyReason.contains("503") }
        #expect(!manager.isReady)
        #expect(manager.notReadyReason.hasPrefix("informer caches have not synced: leases:"))
        manager.shutdown()
        try await run.value
        await f.stop()
    }
}
