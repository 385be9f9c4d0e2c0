import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// kube-apiserver keeps one storage for core/v1 and events.k8s.io/v1 events; the emulator mirrors them.
@Suite struct EventMirrorTests {
    @Test func anEventsAPIEventIsAlsoACoreEventAndBack() async throws {
        try await withEmulator { _, client in
            let written: JSONValue = [
                "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": ["name": "pa.1", "namespace": "default"],
                "regarding": ["apiVersion": "heteroscale.io/v1alpha1", "kind": "PodAutoscaler", "name": "pa", "namespace": "default"],
                "reason": "SuccessfulRescale", "note": "New size: 4; reason: r", "type": "Normal", "action": "Scale",
                "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "heteroscale.io/controller",
                "reportingInstance": "host_1", "series": ["count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"],
            ]
            _ = try await client.json(method: "POST", path: "/apis/events.k8s.io/v1/namespaces/default/events", body: written)
            let core = try await client.json(path: "/api/v1/namespaces/default/events/pa.1")
            #expect(core["apiVersion"]?.stringValue == "v1")
            #expect(core["involvedObject"]?["name"]?.stringValue == "pa")
            #expect(core["message"]?.stringValue == "New size: 4; reason: r")
            #expect(core["reportingComponent"]?.stringValue == "heteroscale.io/controller")
            #expect(core["series"]?["count"]?.intValue == 2)
            let selected = try await client.json(path: "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dpa")
            #expect(selected["items"]?.arrayValue?.count == 1)

            let coreEvent: JSONValue = [
                "apiVersion": "v1", "kind": "Event", "metadata": ["name": "pod.1", "namespace": "default"],
                "involvedObject": ["kind": "Pod", "name": "p", "namespace": "default"],
                "reason": "Started", "message": "started", "type": "Normal", "count": 3,
            ]
            _ = try await client.json(method: "POST", path: "/api/v1/namespaces/default/events", body: coreEvent)
            let mirrored = try await client.json(path: "/apis/events.k8s.io/v1/namespaces/default/events/pod.1")
            #expect(mirrored["regarding"]?["name"]?.stringValue == "p")
            #expect(mirrored["note"]?.stringValue == "started")
            #expect(mirrored["deprecatedCount"]?.intValue == 3)

            _ = try await client.json(method: "DELETE", path: "/apis/events.k8s.io/v1/namespaces/default/events/pa.1")
            _ = try await expectAPIError(404, "NotFound") { _ = try await client.json(path: "/api/v1/namespaces/default/events/pa.1") }
        }
    }

    @Test(arguments: [("127.0.10.", "127.0.10.3"), ("10.244.", "10.244.0.3")])
    func kubeletPodIPsUseThePrefix(_ prefix: String, _ firstIP: String) async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions(podIPPrefix: prefix) }) { _, client in
            let deployment: JSONValue = [
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "m", "namespace": "default"],
                "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "m"]],
                         "template": ["metadata": ["labels": ["app": "m"]], "spec": ["containers": [["name": "c", "image": "i"]]]]],
            ]
            _ = try await client.create(.deployments, namespace: "default", deployment)
            let ips = Set((try await client.list(.pods, namespace: "default")["items"]?.arrayValue ?? []).compactMap { $0["status"]?["podIP"]?.stringValue })
            #expect(ips.count == 2)
            #expect(ips.contains(firstIP))
            #expect(ips.allSatisfy { $0.hasPrefix(prefix) })
        }
    }
}
