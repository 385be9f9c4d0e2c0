import Autoscaling
@testable import Controller
import Foundation
import KubeAPI
import Placement
import Testing
import YAML

private func group(_ yaml: String) throws -> DeploymentGroup { try YAML.decode(DeploymentGroup.self, from: yaml) }

private let pd = """
    apiVersion: heteroscale.io/v1alpha1
    kind: DeploymentGroup
    metadata: {name: llama, namespace: default, uid: u-1}
    spec:
      replicas: 6
      gate: {tolerance: 0.1}
      roles:
        - name: prefill
          weight: 1
          gpuType: [h100]
          gpusPerInstance: 2
          template:
            metadata: {labels: {app: llama}}
            spec:
              containers: [{name: engine, image: vllm}]
              affinity:
                nodeAffinity:
                  requiredDuringSchedulingIgnoredDuringExecution:
                    nodeSelectorTerms:
                      - matchExpressions: [{key: zone, operator: In, values: [a]}]
                      - matchExpressions: [{key: zone, operator: In, values: [b]}]
        - name: decode
          weight: 2
          gpuType: [h20, l20]
          template:
            spec:
              containers: [{name: engine, image: vllm, resources: {limits: {nvidia.com/gpu: "1"}}}]
    """

/// The pure parts of the DeploymentGroup controller: the shared split, child Deployments, the gate's choice.
@Suite struct DeploymentGroupUnitTests {
    /// spec.replicas split by weight; pinned roles (a role-scoped PodAutoscaler) keep their count and the others
    /// share the rest; a total below the minimums runs the minimums.
    @Test(arguments: [
        (6, [nil, nil], [nil, nil], [2, 4]),
        (7, [nil, nil], [nil, nil], [2, 5]),
        (6, [3, nil], [nil, nil], [3, 3]),      // prefill pinned at 3: decode gets the rest
        (6, [nil, 1], [nil, nil], [5, 1]),
        (1, [nil, nil], [1, 2], [1, 2]),        // below the minimums: raised to 3
        (9, [10, nil], [nil, nil], [10, 0]),    // a pin above the total leaves nothing to the others
    ] as [(Int, [Int?], [Int?], [Int])])
    func theSplitHonoursPinsAndMinimums(total: Int, pins: [Int?], mins: [Int?], expected: [Int]) throws {
        var g = try group(pd).spec
        g.replicas = total
        for i in g.roles.indices {
            g.roles[i].replicas = pins[i]
            g.roles[i].minReplicas = mins[i]
        }
        #expect(RatioApportionment.split(g) == expected)
        #expect(RatioApportionment.minimumTotal(g) == zip(pins, mins).reduce(0) { $0 + ($1.0 ?? $1.1 ?? 0) })
    }

    @Test func aChildDeploymentRunsTheRoleTemplateInItsPlacement() throws {
        let dg = try group(pd)
        let child = ChildDeployments.Child(role: "prefill", level: .s2, domain: "pod-a", placement: "pod-a", gpuType: "h100",
                                           nodeSelector: ["heteroscale.io/s2": "pod-a", "heteroscale.io/gpu-type": "h100"], replicas: 2)
        let d = try ChildDeployments.deployment(for: child, of: dg)
        #expect(d["metadata"]?["name"] == "llama-prefill-pod-a")
        let labels: JSONValue = ["heteroscale.io/group": "llama", "heteroscale.io/placement": "pod-a", "heteroscale.io/role": "prefill"]
        #expect(d["metadata"]?["labels"] == labels)
        #expect(d["spec"]?["selector"]?["matchLabels"] == labels)
        #expect(d["spec"]?["replicas"] == 2)
        let owner = d["metadata"]?["ownerReferences"]?[0]
        #expect(owner?["kind"] == "DeploymentGroup" && owner?["uid"] == "u-1" && owner?["controller"] == true)
        #expect(d["metadata"]?["annotations"]?[ChildDeployments.gpuTypeAnnotation] == "h100")
        let pod = d["spec"]?["template"]
        #expect(pod?["metadata"]?["labels"]?["app"] == "llama")
        #expect(pod?["metadata"]?["labels"]?["heteroscale.io/role"] == "prefill")
        // The role's own terms (ORed) each get the placement's requirements (ANDed within a term).
        let terms = pod?["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]?.arrayValue ?? []
        #expect(terms.count == 2)
        for term in terms {
            let keys = (term["matchExpressions"]?.arrayValue ?? []).compactMap { $0["key"]?.stringValue }
            #expect(keys == ["zone", "heteroscale.io/gpu-type", "heteroscale.io/s2"])
        }
        // No container asked for GPUs: the first gets gpusPerInstance as request and limit.
        #expect(pod?["spec"]?["containers"]?[0]?["resources"]?["requests"]?["nvidia.com/gpu"] == "2")
        #expect(pod?["spec"]?["containers"]?[0]?["resources"]?["limits"]?["nvidia.com/gpu"] == "2")
        #expect(pod?["spec"]?["readinessGates"] == [["conditionType": "heteroscale.io/pd-ratio"]])
        // A template that asks for GPUs keeps its own request; one term is created when there is none.
        let decode = try ChildDeployments.deployment(
            for: .init(role: "decode", level: .s2, domain: "pod-a", placement: "pod-a", gpuType: "h20",
                       nodeSelector: ["heteroscale.io/gpu-type": "h20"], replicas: 4), of: dg)
        let c = decode["spec"]?["template"]?["spec"]?["containers"]?[0]?["resources"]
        #expect(c?["limits"]?["nvidia.com/gpu"] == "1" && c?["requests"] == nil)
        #expect(decode["spec"]?["template"]?["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]
            == [["matchExpressions": [["key": "heteroscale.io/gpu-type", "operator": "In", "values": ["h20"]]]]])
    }

    @Test(arguments: [
        ("llama", "prefill", "pod-a", "llama-prefill-pod-a"),
        ("llama", "prefill", "S2.pod_A", nil),                     // changed characters: a hash keeps it unique
        ("a-very-long-group-name-for-testing", "prefill-role", "big-pod-number-0001", nil),
    ] as [(String, String, String, String?)])
    func childNamesAreValidAndUnique(group: String, role: String, placement: String, expected: String?) {
        let name = ChildDeployments.name(group: group, role: role, placement: placement)
        if let expected { #expect(name == expected) }
        #expect(name.count <= 52)
        #expect(name.allSatisfy { ($0.isLowercase || $0.isNumber || $0 == "-") && $0.isASCII })
        #expect(name.first?.isLetter == true || name.first?.isNumber == true)
        #expect(name != ChildDeployments.name(group: group, role: role, placement: placement + "x"))
    }

    private func pod(_ name: String, _ role: String, ready: Bool, since: Double = 0, soft: Bool = false, retiring: Bool = false,
                     deleting: Bool = false) -> GroupPod {
        var conditions: [JSONValue] = [["type": "ContainersReady", "status": ready ? "True" : "False",
                                        "lastTransitionTime": .string(RFC3339.format(Date(timeIntervalSince1970: 1000 + since), fractionDigits: 0))]]
        conditions.append(["type": "Ready", "status": "False"])
        var annotations = JSONObject()
        if soft { annotations[ChildDeployments.softScaleInAnnotation] = "2026-01-01T00:00:00Z" }
        if retiring { annotations[ChildDeployments.softScaleInRetiringAnnotation] = "2026-01-01T00:00:10Z" }
        var metadata: JSONObject = ["name": .string(name), "labels": ["heteroscale.io/group": "llama", "heteroscale.io/role": .string(role),
                                                                      "heteroscale.io/placement": "p"], "annotations": .object(annotations)]
        if deleting { metadata["deletionTimestamp"] = "2026-01-01T00:00:20Z" }
        let object: JSONValue = [
            "metadata": .object(metadata),
            "status": ["phase": "Running", "conditions": .array(conditions)],
        ]
        return GroupPod(object, gateCondition: "heteroscale.io/pd-ratio")!
    }

    /// The gate admits the oldest ready pods of the larger role up to the ratio; nothing of a role whose
    /// partner has none ready; never a pod under soft scale-in.
    @Test func theGateAdmitsTheOldestReadyUpToTheRatio() throws {
        let spec = try group(pd).spec
        // 3 prefill ready, 2 decode ready (one more starting): at 1:2, one prefill unit.
        let pods = [pod("p-new", "prefill", ready: true, since: 30), pod("p-old", "prefill", ready: true, since: 10),
                    pod("p-mid", "prefill", ready: true, since: 20), pod("d1", "decode", ready: true), pod("d2", "decode", ready: true),
                    pod("d3", "decode", ready: false), pod("d4", "decode", ready: true, soft: true)]
        let plan = RatioGatePlan(spec: spec, pods: pods)
        #expect(plan.roles.map(\.admitted) == [1, 2])
        #expect(plan.verdicts["p-old"]?.admitted == true)
        #expect(plan.verdicts["p-mid"]?.admitted == false && plan.verdicts["p-mid"]?.reason == "RatioGated")
        #expect(plan.verdicts["p-new"]?.admitted == false)
        #expect(plan.verdicts["d1"]?.admitted == true && plan.verdicts["d2"]?.admitted == true)
        #expect(plan.verdicts["d3"]?.reason == "ContainersNotReady")
        #expect(plan.verdicts["d4"]?.reason == "SoftScaleIn")
        // Decode all cold: no prefill admitted.
        let cold = RatioGatePlan(spec: spec, pods: [pod("p1", "prefill", ready: true), pod("d1", "decode", ready: false)])
        #expect(cold.roles.map(\.admitted) == [0, 0])
    }

    /// A soft-scaled-in pod is observed (restorable, counted in its child) until its observation ends; then it
    /// is retiring: still out of service (so the ReplicaSet, which deletes not-ready pods first, removes it and not
    /// a serving one), no longer observed (its child was lowered by it, once).
    @Test(arguments: [
        (false, false, false, false, nil),
        (true, false, false, true, "observed before deletion (soft scale-in)"),
        (true, true, false, false, "being removed after its soft scale-in"),
        (true, true, true, false, nil),
    ] as [(Bool, Bool, Bool, Bool, String?)])
    func softScaleInStates(soft: Bool, retiring: Bool, deleting: Bool, observed: Bool, gateMessage: String?) throws {
        let p = pod("d9", "decode", ready: true, soft: soft, retiring: retiring, deleting: deleting)
        #expect(p.observed == observed)
        #expect(p.retiring == retiring)
        let plan = RatioGatePlan(spec: try group(pd).spec, pods: [pod("p1", "prefill", ready: true), pod("d1", "decode", ready: true),
                                                                   pod("d2", "decode", ready: true), p])
        if let gateMessage {
            #expect(plan.verdicts["d9"]?.admitted == false)
            #expect(plan.verdicts["d9"]?.message.contains(gateMessage) == true)
            #expect(plan.roles.map(\.ready) == [1, 2], "out of service: not counted as ready")
        } else if deleting {
            #expect(plan.verdicts["d9"] == nil)
        } else {
            #expect(plan.roles.map(\.ready) == [1, 3])
        }
    }

    @Test func scaleInTakesThePreferredNodesThenUnreadyThenYoungest() {
        func p(_ name: String, node: String, ready: Bool, created: Double) -> GroupPod {
            let object: JSONValue = [
                "metadata": ["name": .string(name), "creationTimestamp": .string(RFC3339.format(Date(timeIntervalSince1970: created), fractionDigits: 0)),
                             "labels": ["heteroscale.io/role": "decode", "heteroscale.io/placement": "p"]],
                "spec": ["nodeName": .string(node)],
                "status": ["phase": "Running", "conditions": [["type": "ContainersReady", "status": ready ? "True" : "False"]]],
            ]
            return GroupPod(object, gateCondition: "g")!
        }
        let pods = [p("a", node: "n1", ready: true, created: 1), p("b", node: "n2", ready: true, created: 2),
                    p("c", node: "n1", ready: false, created: 3), p("d", node: "n3", ready: true, created: 4)]
        #expect(GroupPod.scaleInOrder(pods, preferredNodes: ["n2"]).map(\.name) == ["b", "c", "d", "a"])
        #expect(GroupPod.scaleInOrder(pods, preferredNodes: []).map(\.name) == ["c", "d", "b", "a"])
    }
}
