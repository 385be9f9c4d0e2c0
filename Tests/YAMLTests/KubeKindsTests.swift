import KubeAPI
import Testing
import YAML

// Typed Kubernetes kinds decoded from fixtures shaped like kube-apiserver output.

private func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONValue.parseJSON(text).decode(type)
}

/// Encodes to JSON text and to YAML, decodes both back, and expects the original value.
private func expectRoundTrip<T: Codable & Hashable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let json = try JSONValue(encoding: value).jsonString()
    #expect(try decodeJSON(T.self, json) == value, "JSON round trip", sourceLocation: sourceLocation)
    let yaml = try YAML.encode(value)
    #expect(try YAML.decode(T.self, from: yaml) == value, "YAML round trip:\n\(yaml)", sourceLocation: sourceLocation)
}

private let podJSON = #"""
{
  "kind": "Pod",
  "apiVersion": "v1",
  "metadata": {
    "name": "llm-decode-7d9f8b6c5-x2k4p",
    "generateName": "llm-decode-7d9f8b6c5-",
    "namespace": "inference",
    "uid": "3f1e2d4c-5b6a-4789-9abc-def012345678",
    "resourceVersion": "184467",
    "creationTimestamp": "2024-05-01T10:00:00Z",
    "labels": {"app": "llm", "role": "decode", "pod-template-hash": "7d9f8b6c5"},
    "ownerReferences": [{
      "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "llm-decode-7d9f8b6c5",
      "uid": "aa11bb22-cc33-dd44-ee55-ff6677889900", "controller": true, "blockOwnerDeletion": true
    }],
    "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}]
  },
  "spec": {
    "volumes": [{"name": "kube-api-access-abcde", "projected": {"defaultMode": 420}}],
    "containers": [{
      "name": "engine",
      "image": "registry.example.com/llm/engine:v1.4.2",
      "args": ["--role=decode"],
      "ports": [
        {"name": "http", "containerPort": 8000, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}
      ],
      "resources": {
        "limits": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1"},
        "requests": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "1"}
      },
      "terminationMessagePath": "/dev/termination-log",
      "imagePullPolicy": "IfNotPresent"
    }],
    "restartPolicy": "Always",
    "nodeName": "gpu-node-3",
    "readinessGates": [{"conditionType": "heteroscale.io/warm"}]
  },
  "status": {
    "phase": "Running",
    "conditions": [
      {"type": "heteroscale.io/warm", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:01:10Z"},
      {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:02Z"},
      {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:01:12Z"},
      {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:01:09Z"},
      {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:00Z"}
    ],
    "hostIP": "10.0.3.17",
    "hostIPs": [{"ip": "10.0.3.17"}],
    "podIP": "10.244.3.52",
    "podIPs": [{"ip": "10.244.3.52"}, {"ip": "fd00:10:244:3::34"}],
    "startTime": "2024-05-01T10:00:00Z",
    "containerStatuses": [{
      "name": "engine",
      "state": {"running": {"startedAt": "2024-05-01T10:00:41Z"}},
      "lastState": {},
      "ready": true,
      "restartCount": 2,
      "image": "registry.example.com/llm/engine:v1.4.2",
      "imageID": "registry.example.com/llm/engine@sha256:0123",
      "containerID": "containerd://abcdef",
      "started": true
    }],
    "qosClass": "Burstable"
  }
}
"""#

@Suite("Kubernetes kinds")
struct KubeKindsTests {
    @Test func podDecodes() throws {
        let pod = try decodeJSON(Pod.self, podJSON)
        #expect(pod.kind == Pod.kind && pod.apiVersion == Pod.apiVersion)
        #expect(pod.metadata.key == "inference/llm-decode-7d9f8b6c5-x2k4p")
        #expect(pod.metadata.labels?["role"] == "decode")
        #expect(pod.metadata.ownerReferences?.first?.kind == "ReplicaSet")
        let spec = try #require(pod.spec)
        #expect(spec.nodeName == "gpu-node-3")
        let engine = try #require(spec.containers.first)
        #expect(engine.name == "engine")
        #expect(engine.image == "registry.example.com/llm/engine:v1.4.2")
        #expect(engine.ports?.map(\.containerPort) == [8000, 9090])
        #expect(engine.ports?.first?.protocol == "TCP")
        #expect(engine.resources?.limits?["nvidia.com/gpu"] == "1")
        #expect(engine.resources?.requests?["memory"] == "32Gi")
        #expect(spec.readinessGates == [Pod.ReadinessGate(conditionType: "heteroscale.io/warm")])
        let status = try #require(pod.status)
        #expect(status.phase == Pod.Phase.running)
        #expect(status.podIP == "10.244.3.52")
        #expect(status.podIPs?.map(\.ip) == ["10.244.3.52", "fd00:10:244:3::34"])
        #expect(status.hostIP == "10.0.3.17")
        #expect(status.startTime == "2024-05-01T10:00:00Z")
        #expect(status.conditions?.count == 5)
        let ready = try #require(status.conditions?[type: Pod.ConditionType.ready])
        #expect(ready.lastTransitionTime == "2024-05-01T10:01:12Z")
        #expect(ready.lastProbeTime == nil)
        #expect(status.containerStatuses == [Pod.ContainerStatus(name: "engine", ready: true, restartCount: 2, started: true)])
        #expect(pod.isReady)
        #expect(!pod.isTerminating)
        try expectRoundTrip(pod)
    }

    @Test func podHelpers() throws {
        var pod = try decodeJSON(Pod.self, podJSON)
        pod.metadata.deletionTimestamp = "2024-05-01T11:00:00Z"
        #expect(pod.isTerminating)
        pod.status?.conditions = [ResourceCondition(type: "Ready", status: "False", reason: "ContainersNotReady")]
        #expect(!pod.isReady)
        pod.status?.conditions = [ResourceCondition(type: "Ready", status: "Unknown")]
        #expect(!pod.isReady)
        pod.status = nil
        #expect(!pod.isReady)
        // A pending pod straight after create: no status fields, no node.
        let pending = try decodeJSON(Pod.self, #"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"d"},
             "spec":{"containers":[{"name":"c","image":"busybox"}]},"status":{"phase":"Pending","qosClass":"BestEffort"}}
            """#)
        #expect(pending.status?.phase == Pod.Phase.pending)
        #expect(pending.spec?.nodeName == nil)
        #expect(!pending.isReady)
        try expectRoundTrip(pending)
    }

    @Test func nodeDecodes() throws {
        let node = try decodeJSON(Node.self, #"""
            {
              "kind": "Node", "apiVersion": "v1",
              "metadata": {
                "name": "gpu-node-3", "uid": "9b1c", "resourceVersion": "99120",
                "creationTimestamp": "2024-04-01T00:00:00Z",
                "labels": {
                  "kubernetes.io/hostname": "gpu-node-3",
                  "topology.kubernetes.io/zone": "us-east-1a",
                  "topology.kubernetes.io/region": "us-east-1",
                  "node.kubernetes.io/instance-type": "p4d.24xlarge",
                  "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"
                },
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"}
              },
              "spec": {"podCIDR": "10.244.3.0/24", "providerID": "aws:///us-east-1a/i-0abc"},
              "status": {
                "capacity": {"cpu": "96", "ephemeral-storage": "104845292Ki", "memory": "1176631768Ki", "nvidia.com/gpu": "8", "pods": "110"},
                "allocatable": {"cpu": "95690m", "ephemeral-storage": "95551679124", "memory": "1165043160Ki", "nvidia.com/gpu": "8", "pods": "110"},
                "conditions": [
                  {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "2024-05-01T10:05:00Z", "lastTransitionTime": "2024-04-01T00:01:00Z", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available"},
                  {"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-05-01T10:05:00Z", "lastTransitionTime": "2024-04-01T00:01:30Z", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
                ],
                "addresses": [{"type": "InternalIP", "address": "10.0.3.17"}],
                "nodeInfo": {"kubeletVersion": "v1.30.1"}
              }
            }
            """#)
        #expect(node.metadata.name == "gpu-node-3")
        #expect(node.metadata.key == "gpu-node-3")
        #expect(node.metadata.labels?[Node.Label.zone] == "us-east-1a")
        #expect(node.metadata.labels?[Node.Label.instanceType] == "p4d.24xlarge")
        #expect(node.status?.capacity?["nvidia.com/gpu"] == "8")
        #expect(node.status?.allocatable?["cpu"] == "95690m")
        #expect(node.status?.conditions?[type: "Ready"]?.lastHeartbeatTime == "2024-05-01T10:05:00Z")
        #expect(node.spec?.unschedulable == nil)
        #expect(node.isReady)
        try expectRoundTrip(node)

        var cordoned = node
        cordoned.spec = Node.Spec(unschedulable: true)
        cordoned.status?.conditions = [ResourceCondition(type: "Ready", status: "Unknown", reason: "NodeStatusUnknown")]
        #expect(!cordoned.isReady)
        try expectRoundTrip(cordoned)
        #expect(!Node(metadata: ObjectMeta(name: "bare")).isReady)
    }

    @Test func serviceDecodes() throws {
        let service = try decodeJSON(Service.self, #"""
            {"kind":"Service","apiVersion":"v1",
             "metadata":{"name":"llm","namespace":"inference"},
             "spec":{"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":"http"},
                              {"name":"metrics","protocol":"TCP","port":9090,"targetPort":9090}],
                     "selector":{"app":"llm"},"clusterIP":"10.96.12.34","clusterIPs":["10.96.12.34"],
                     "type":"ClusterIP","sessionAffinity":"None"},
             "status":{"loadBalancer":{}}}
            """#)
        #expect(service.spec?.type == "ClusterIP")
        #expect(service.spec?.selector == ["app": "llm"])
        #expect(service.spec?.ports?.map(\.port) == [80, 9090])
        #expect(service.spec?.ports?.first?.targetPort == .string("http"))
        #expect(service.spec?.ports?.last?.targetPort == .int(9090))
        try expectRoundTrip(service)
    }

    @Test func deploymentDecodes() throws {
        let deployment = try decodeJSON(Deployment.self, #"""
            {
              "kind": "Deployment", "apiVersion": "apps/v1",
              "metadata": {
                "name": "llm-decode", "namespace": "inference", "uid": "d1", "resourceVersion": "184400",
                "generation": 7, "creationTimestamp": "2024-04-30T08:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "3"}
              },
              "spec": {
                "replicas": 6,
                "selector": {
                  "matchLabels": {"app": "llm", "role": "decode"},
                  "matchExpressions": [{"key": "tier", "operator": "In", "values": ["gpu", "accel"]}]
                },
                "template": {
                  "metadata": {"creationTimestamp": null, "labels": {"app": "llm", "role": "decode", "tier": "gpu"}},
                  "spec": {"containers": [{"name": "engine", "image": "registry.example.com/llm/engine:v1.4.2"}]}
                },
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
              },
              "status": {
                "observedGeneration": 7, "replicas": 6, "updatedReplicas": 6, "readyReplicas": 5,
                "availableReplicas": 5, "unavailableReplicas": 1,
                "conditions": [
                  {"type": "Available", "status": "True", "lastUpdateTime": "2024-05-01T10:00:00Z", "lastTransitionTime": "2024-05-01T10:00:00Z", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                  {"type": "Progressing", "status": "True", "lastUpdateTime": "2024-05-01T10:01:12Z", "lastTransitionTime": "2024-04-30T08:00:00Z", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet \"llm-decode-7d9f8b6c5\" has successfully progressed."}
                ]
              }
            }
            """#)
        #expect(deployment.kind == Deployment.kind && deployment.apiVersion == "apps/v1")
        #expect(deployment.metadata.generation == 7)
        let spec = try #require(deployment.spec)
        #expect(spec.replicas == 6)
        #expect(spec.selector?.matchLabels == ["app": "llm", "role": "decode"])
        #expect(spec.selector?.matchExpressions?.first?.operator == LabelSelectorRequirement.Operator.in)
        #expect(spec.selector?.selectorString == "app=llm,role=decode,tier in (accel,gpu)")
        #expect(spec.template?["spec"]?["containers"]?[0]?["name"] == .string("engine"))
        // The template is kept verbatim, including the null creationTimestamp.
        #expect(spec.template?["metadata"]?["creationTimestamp"] == .null)
        let status = try #require(deployment.status)
        #expect(status.observedGeneration == 7)
        #expect(status.replicas == 6 && status.updatedReplicas == 6)
        #expect(status.readyReplicas == 5 && status.availableReplicas == 5)
        #expect(status.conditions?[type: "Available"]?.isTrue == true)
        #expect(status.conditions?[type: "Progressing"]?.lastUpdateTime == "2024-05-01T10:01:12Z")
        try expectRoundTrip(deployment)
    }

    @Test func statefulSetDecodes() throws {
        let set = try decodeJSON(StatefulSet.self, #"""
            {"apiVersion":"apps/v1","kind":"StatefulSet",
             "metadata":{"name":"llm-prefill","namespace":"inference","generation":2},
             "spec":{"replicas":3,"serviceName":"llm-prefill","selector":{"matchLabels":{"app":"llm","role":"prefill"}},
                     "template":{"metadata":{"labels":{"app":"llm","role":"prefill"}},"spec":{"containers":[{"name":"engine","image":"e"}]}},
                     "podManagementPolicy":"Parallel"},
             "status":{"observedGeneration":2,"replicas":3,"readyReplicas":2,"currentReplicas":3,"updatedReplicas":3,
                       "availableReplicas":2,"currentRevision":"llm-prefill-5d4","updateRevision":"llm-prefill-5d4","collisionCount":0}}
            """#)
        #expect(set.kind == StatefulSet.kind)
        #expect(set.spec?.replicas == 3)
        #expect(set.spec?.selector?.selectorString == "app=llm,role=prefill")
        #expect(set.status?.readyReplicas == 2)
        #expect(set.status?.conditions == nil)
        try expectRoundTrip(set)
    }

    @Test(arguments: [
        (LabelSelector(), ""),
        (LabelSelector(matchLabels: [:], matchExpressions: []), ""),
        (LabelSelector(matchLabels: ["app": "llm"]), "app=llm"),
        (LabelSelector(matchLabels: ["b": "2", "a": "1", "c": "3"]), "a=1,b=2,c=3"),
        (LabelSelector(matchLabels: ["a": "b", "e": "f"], matchExpressions: [
            .init(key: "e", operator: "Exists"),
            .init(key: "d", operator: "DoesNotExist"),
            .init(key: "c", operator: "In", values: ["y", "x"]),
        ]), "a=b,c in (x,y),!d,e=f,e"),
        (LabelSelector(matchExpressions: [.init(key: "tier", operator: "NotIn", values: ["cpu", "cpu", "arm"])]),
         "tier notin (arm,cpu)"),
        (LabelSelector(matchExpressions: [.init(key: "x", operator: "In", values: [])]), nil),
        (LabelSelector(matchExpressions: [.init(key: "x", operator: "NotIn")]), nil),
        (LabelSelector(matchExpressions: [.init(key: "x", operator: "Exists", values: ["v"])]), nil),
        (LabelSelector(matchExpressions: [.init(key: "x", operator: "Gt", values: ["1"])]), nil),
    ] as [(LabelSelector, String?)])
    func selectorString(_ selector: LabelSelector, _ expected: String?) throws {
        #expect(selector.selectorString == expected)
        try expectRoundTrip(selector)
    }

    @Test func selectorStringIsDeterministic() {
        var labels: [String: String] = [:]
        for i in 0..<50 { labels["k\(i)"] = "v\(i)" }
        let rendered = LabelSelector(matchLabels: labels).selectorString
        let expected = labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }.joined(separator: ",")
        #expect(rendered == expected)
        #expect(LabelSelector(matchLabels: labels).selectorString == rendered)
    }

    @Test func leaseDecodes() throws {
        let lease = try decodeJSON(Lease.self, #"""
            {"kind":"Lease","apiVersion":"coordination.k8s.io/v1",
             "metadata":{"name":"heteroscale-leader","namespace":"heteroscale-system","uid":"l1","resourceVersion":"5521"},
             "spec":{"holderIdentity":"heteroscale-6b7c9d-abcde_4f3e2d1c","leaseDurationSeconds":15,
                     "acquireTime":"2024-05-01T09:58:30.123456Z","renewTime":"2024-05-01T10:05:02.654321Z",
                     "leaseTransitions":4}}
            """#)
        #expect(lease.kind == Lease.kind && lease.apiVersion == Lease.apiVersion)
        let spec = try #require(lease.spec)
        #expect(spec.holderIdentity == "heteroscale-6b7c9d-abcde_4f3e2d1c")
        #expect(spec.leaseDurationSeconds == 15)
        // MicroTime keeps its six fractional digits verbatim.
        #expect(spec.acquireTime == "2024-05-01T09:58:30.123456Z")
        #expect(spec.renewTime == "2024-05-01T10:05:02.654321Z")
        #expect(spec.leaseTransitions == 4)
        try expectRoundTrip(lease)

        // A freshly created lease as a client sends it: no unset fields in the encoding.
        let fresh = Lease(metadata: ObjectMeta(name: "l", namespace: "ns"), spec: Lease.Spec(holderIdentity: "me", leaseDurationSeconds: 15))
        let encoded = try JSONValue(encoding: fresh)
        #expect(encoded["apiVersion"] == .string("coordination.k8s.io/v1"))
        #expect(encoded["spec"]?["renewTime"] == nil)
        try expectRoundTrip(fresh)
    }

    @Test func eventsV1Decodes() throws {
        let event = try decodeJSON(Event.self, #"""
            {"kind":"Event","apiVersion":"events.k8s.io/v1",
             "metadata":{"name":"llm-decode.17c9a1b2c3d4e5f6","namespace":"inference","uid":"e1","resourceVersion":"184470",
                         "creationTimestamp":"2024-05-01T10:05:03Z"},
             "eventTime":"2024-05-01T10:05:03.000123Z",
             "series":{"count":3,"lastObservedTime":"2024-05-01T10:07:03.000456Z"},
             "reportingController":"heteroscale.io/controller","reportingInstance":"heteroscale-6b7c9d-abcde",
             "action":"Scale","reason":"ScaledUp",
             "regarding":{"kind":"Deployment","namespace":"inference","name":"llm-decode","uid":"d1","apiVersion":"apps/v1","resourceVersion":"184400"},
             "note":"scaled decode from 5 to 6 replicas","type":"Normal",
             "deprecatedSource":{},"deprecatedFirstTimestamp":null,"deprecatedLastTimestamp":null}
            """#)
        #expect(event.apiVersion == Event.apiVersion)
        #expect(event.eventTime == "2024-05-01T10:05:03.000123Z")
        #expect(event.series == Event.Series(count: 3, lastObservedTime: "2024-05-01T10:07:03.000456Z"))
        #expect(event.reportingController == "heteroscale.io/controller")
        #expect(event.reportingInstance == "heteroscale-6b7c9d-abcde")
        #expect(event.action == "Scale" && event.reason == "ScaledUp")
        #expect(event.regarding?.kind == "Deployment" && event.regarding?.name == "llm-decode")
        #expect(event.note == "scaled decode from 5 to 6 replicas")
        #expect(event.type == Event.EventType.normal)
        try expectRoundTrip(event)
    }

    @Test func coreEventDecodes() throws {
        let event = try decodeJSON(CoreEvent.self, #"""
            {"kind":"Event","apiVersion":"v1",
             "metadata":{"name":"llm-decode-7d9f8b6c5-x2k4p.17c9a0f1e2d3c4b5","namespace":"inference","uid":"e2","resourceVersion":"184300"},
             "involvedObject":{"kind":"Pod","namespace":"inference","name":"llm-decode-7d9f8b6c5-x2k4p","uid":"3f1e","apiVersion":"v1",
                               "resourceVersion":"184200","fieldPath":"spec.containers{engine}"},
             "reason":"BackOff","message":"Back-off restarting failed container engine",
             "source":{"component":"kubelet","host":"gpu-node-3"},
             "firstTimestamp":"2024-05-01T10:00:20Z","lastTimestamp":"2024-05-01T10:00:40Z","count":2,"type":"Warning",
             "eventTime":null,"reportingComponent":"kubelet","reportingInstance":"gpu-node-3"}
            """#)
        #expect(event.kind == CoreEvent.kind && event.apiVersion == CoreEvent.apiVersion)
        #expect(event.involvedObject.kind == "Pod")
        #expect(event.involvedObject.fieldPath == "spec.containers{engine}")
        #expect(event.reason == "BackOff")
        #expect(event.message == "Back-off restarting failed container engine")
        #expect(event.type == Event.EventType.warning)
        #expect(event.count == 2)
        #expect(event.firstTimestamp == "2024-05-01T10:00:20Z" && event.lastTimestamp == "2024-05-01T10:00:40Z")
        #expect(event.source == CoreEvent.Source(component: "kubelet", host: "gpu-node-3"))
        try expectRoundTrip(event)
    }

    @Test func scaleDecodes() throws {
        let scale = try decodeJSON(Scale.self, #"""
            {"kind":"Scale","apiVersion":"autoscaling/v1",
             "metadata":{"name":"llm-decode","namespace":"inference","uid":"d1","resourceVersion":"184400","creationTimestamp":"2024-04-30T08:00:00Z"},
             "spec":{"replicas":6},
             "status":{"replicas":6,"selector":"app=llm,role=decode"}}
            """#)
        #expect(scale.kind == Scale.kind && scale.apiVersion == Scale.apiVersion)
        #expect(scale.metadata.resourceVersion == "184400")
        #expect(scale.spec?.replicas == 6)
        #expect(scale.status == Scale.Status(replicas: 6, selector: "app=llm,role=decode"))
        try expectRoundTrip(scale)
        // `replicas: 0` is a value, not an absence.
        let zero = Scale(metadata: ObjectMeta(name: "x", namespace: "y"), spec: Scale.Spec(replicas: 0))
        #expect(try JSONValue(encoding: zero)["spec"]?["replicas"] == .int(0))
        try expectRoundTrip(zero)
    }

    @Test func statusDecodes() throws {
        let status = try decodeJSON(Status.self, #"""
            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
             "message":"Deployment.apps \"llm-decode\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.spec.containers: Required value]",
             "reason":"Invalid",
             "details":{"name":"llm-decode","group":"apps","kind":"Deployment",
                        "causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"},
                                  {"reason":"FieldValueRequired","message":"Required value","field":"spec.template.spec.containers"}]},
             "code":422}
            """#)
        #expect(status.kind == Status.kind)
        #expect(status.status == Status.Outcome.failure)
        #expect(status.reason == "Invalid")
        #expect(status.code == 422)
        #expect(status.metadata == ListMeta())
        let details = try #require(status.details)
        #expect(details.name == "llm-decode" && details.group == "apps" && details.kind == "Deployment")
        #expect(details.causes?.map(\.field) == ["spec.replicas", "spec.template.spec.containers"])
        #expect(details.causes?.first?.reason == "FieldValueInvalid")
        #expect(details.retryAfterSeconds == nil)
        try expectRoundTrip(status)

        let throttled = try decodeJSON(Status.self, #"""
            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too many requests, please try again later.",
             "reason":"TooManyRequests","details":{"causes":[{"message":"Too many requests"}],"retryAfterSeconds":1},"code":429}
            """#)
        #expect(throttled.details?.retryAfterSeconds == 1)
        #expect(throttled.details?.causes == [Status.Cause(message: "Too many requests")])
    }

    @Test func podListDecodes() throws {
        let list = try decodeJSON(List<Pod>.self, #"""
            {"kind":"PodList","apiVersion":"v1",
             "metadata":{"resourceVersion":"184480","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTg0NDgwLCJzdGFydCI6InAyXHUwMDAwIn0","remainingItemCount":7},
             "items":[\#(podJSON),
                      {"metadata":{"name":"p2","namespace":"inference","deletionTimestamp":"2024-05-01T10:06:00Z","deletionGracePeriodSeconds":30},
                       "spec":{"containers":[{"name":"engine","image":"e"}],"nodeName":"gpu-node-4"},
                       "status":{"phase":"Running","conditions":[{"type":"Ready","status":"False","lastProbeTime":null,"lastTransitionTime":"2024-05-01T10:06:01Z","reason":"ContainersNotReady","message":"containers with unready status: [engine]"}]}}]}
            """#)
        #expect(list.kind == "PodList" && list.apiVersion == "v1")
        #expect(list.metadata?.resourceVersion == "184480")
        #expect(list.metadata?.remainingItemCount == 7)
        #expect(list.continueToken?.hasPrefix("eyJ2") == true)
        #expect(list.items.map(\.metadata.name) == ["llm-decode-7d9f8b6c5-x2k4p", "p2"])
        #expect(list.items.map(\.isReady) == [true, false])
        #expect(list.items.map(\.isTerminating) == [false, true])
        // In a list, items carry no kind of their own.
        #expect(list.items[1].kind == nil)
        try expectRoundTrip(list)

        // The last page: empty continue, and items may be null.
        let last = try decodeJSON(List<Node>.self, #"{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":""},"items":null}"#)
        #expect(last.items.isEmpty)
        #expect(last.continueToken == nil)
        #expect(try decodeJSON(List<Lease>.self, #"{"metadata":{}}"#).items.isEmpty)
    }

    @Test func yamlManifestDecodes() throws {
        let deployment = try YAML.decode(Deployment.self, from: """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
              labels: {app: web}
            spec:
              replicas: 2
              selector:
                matchLabels: {app: web}
                matchExpressions:
                  - {key: track, operator: NotIn, values: [canary]}
              template:
                metadata: {labels: {app: web, track: stable}}
                spec:
                  containers:
                    - name: web
                      image: nginx:1.27
            """)
        #expect(deployment.spec?.replicas == 2)
        #expect(deployment.spec?.selector?.selectorString == "app=web,track notin (canary)")
        #expect(deployment.spec?.template?["spec"]?["containers"]?[0]?["image"] == .string("nginx:1.27"))
        try expectRoundTrip(deployment)
    }

    @Test func missingRequiredNameIsAnError() {
        #expect(throws: (any Error).self) {
            try decodeJSON(Pod.self, #"{"metadata":{"name":"p"},"spec":{"containers":[{"image":"x"}]}}"#)
        }
        #expect(throws: (any Error).self) {
            try decodeJSON(Pod.Spec.self, #"{"containers":[{"name":"c","ports":[{"name":"http"}]}]}"#)
        }
    }
}
