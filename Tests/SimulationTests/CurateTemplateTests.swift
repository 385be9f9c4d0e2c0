import Foundation
import KubeAPI
import Simulation
import Testing
import TestSupport
import YAML

/// `heteroscale curate --template FILE`: the recommended DeploymentGroup and the baselines' Deployments carry the
/// user's pod templates as written; curation changes only replicas, ratio, GPU types and bounds; bad templates
/// are refused naming the file, the line and field, and what to do.
@Suite struct CurateTemplateTests {
    /// A pod template with what a real one holds: image, args, env with quoted numbers, resources with quantities,
    /// ports, probes, annotations, volumes.
    static func podTemplate(_ role: String, gpus: Int = 1) -> String {
        """
              template:
                metadata:
                  labels: {app.kubernetes.io/name: llama, heteroscale.io/role: \(role)}
                  annotations: {prometheus.io/scrape: "true", prometheus.io/port: "8000", example.com/note: "keep: me"}
                spec:
                  readinessGates:
                    - conditionType: heteroscale.io/pd-ratio
                    - conditionType: example.com/warm
                  containers:
                    - name: vllm
                      image: vllm/vllm-openai:v0.6.3
                      args: [--model, meta-llama/Llama-2-70b-hf, --tensor-parallel-size, "\(gpus)", --kv-transfer-config, '{"kv_role":"kv_\(role == "prefill" ? "producer" : "consumer")"}']
                      env:
                        - {name: VLLM_PORT, value: "8000"}
                      resources:
                        limits: {nvidia.com/gpu: \(gpus), memory: 320Gi, cpu: 7500m}
                        requests: {cpu: "8", memory: 300Gi}
                      ports:
                        - {name: http, containerPort: 8000, protocol: TCP}
                      readinessProbe:
                        httpGet: {path: /health, port: 8000}
                  volumes:
                    - name: shm
                      emptyDir: {medium: Memory, sizeLimit: 16Gi}
        """
    }

    static func group(roles: [String] = ["prefill", "decode"], gpus: Int = 1) -> String {
        """
        apiVersion: heteroscale.io/v1alpha1
        kind: DeploymentGroup
        metadata:
          name: llama
          namespace: serving
          labels: {team: inference}
          annotations: {owner: sre@example.com}
        spec:
          replicas: 9
          affinity: {domain: S2, priority: 10}
          gate: {tolerance: 0.2, conditionType: heteroscale.io/pd-ratio}
          roles:
        """ + roles.map { """

            - name: \($0)
              weight: 7
              gpuType: [a100-80gb]
              gpusPerInstance: 8
        \(Self.podTemplate($0, gpus: gpus))
        """ }.joined()
    }

    static func folder(policies: String = "[{strategy: heteroscale}, {strategy: hybrid}, {strategy: hpa-gpu}]") throws -> TestDirectory {
        try CurateTests.toyFolder("curate-template", policies: policies)
    }

    /// Every candidate's manifests carry the templates: the DeploymentGroup's roles hold them value-for-value and,
    /// in the emitted YAML, byte-for-byte as the same template dumps on its own; the group keeps its name,
    /// namespace, labels, annotations, affinity and gate; the PodAutoscalers target it in its namespace; the
    /// baselines' Deployments carry the same templates (without the ratio gate's readiness gate, which only a
    /// DeploymentGroup sets), selected by their own labels. Curation's own values
    /// (replicas, weights, GPU types, GPUs per instance, bounds) replace the template's.
    @Test func theTemplatesArePassedThroughUnchanged() throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        try dir.write("group.yaml", Self.group())
        let template = try CurateTemplate.load(path: dir.path("group.yaml"))
        let input = try YAML.load(Self.group())
        let report = try CurateRunner.run(try CurateSpec.load(path: dir.path("curate.yaml")), baseDirectory: dir.url.path, jobs: 2,
                                          template: template)
        #expect(report.policies.count == 3, "\(report.text)")
        for policy in report.policies {
            for m in policy.manifests {
                switch m["kind"]?.stringValue {
                case "DeploymentGroup":
                    #expect(m["metadata"] == input["metadata"], "\(policy.name)")
                    #expect(m["spec"]?["affinity"] == input["spec"]?["affinity"])
                    #expect(m["spec"]?["gate"] == input["spec"]?["gate"])
                    for (i, role) in ["prefill", "decode"].enumerated() {
                        let r = try #require(m["spec"]?["roles"]?[i])
                        #expect(r["name"]?.stringValue == role)
                        #expect(r["template"] == input["spec"]?["roles"]?[i]?["template"], "\(policy.name) \(role)")
                        #expect(r["gpuType"] == ["toy"])
                        #expect(r["gpusPerInstance"] == 1)
                    }
                    #expect(m["spec"]?["roles"]?[0]?["weight"] == 1)
                    #expect(m["spec"]?["roles"]?[1]?["weight"] == 2)
                    #expect(m["spec"]?["replicas"] == 3)
                    _ = try YAMLDocument(value: m).decode(DeploymentGroup.self, strict: true)
                case "PodAutoscaler":
                    #expect(m["metadata"]?["namespace"] == "serving")
                    if m["spec"]?["scaleTargetRef"]?["kind"] == "DeploymentGroup" {
                        #expect(m["spec"]?["scaleTargetRef"]?["name"] == "llama")
                    }
                default:
                    #expect(m["kind"] == "Deployment")
                    let role = try #require(m["metadata"]?["labels"]?["heteroscale.io/role"]?.stringValue)
                    let i = role == "prefill" ? 0 : 1
                    let pod = input["spec"]?["roles"]?[i]?["template"]
                    // As written, but for the ratio gate's readiness gate (no DeploymentGroup sets it here).
                    var expected = try #require(pod?.objectValue)
                    var podSpec = try #require(expected["spec"]?.objectValue)
                    podSpec["readinessGates"] = [["conditionType": "example.com/warm"]]
                    expected["spec"] = .object(podSpec)
                    #expect(m["spec"]?["template"] == .object(expected), "\(policy.name) \(role)")
                    #expect(m["spec"]?["selector"]?["matchLabels"] == pod?["metadata"]?["labels"])
                    #expect(m["metadata"]?["namespace"] == "serving")
                }
            }
        }
        // Byte-for-byte in `-o yaml`: each role's template as YAML dumps it alone, indented under `template:`.
        let yaml = report.recommendedYAML
        for i in 0..<2 {
            let alone = YAML.dump(try #require(input["spec"]?["roles"]?[i]?["template"]))
            let indented = alone.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "      " + $0 }.joined(separator: "\n")
            #expect(yaml.contains("    template:\n" + indented), "\(yaml)")
        }
        #expect(yaml.contains("image: vllm/vllm-openai:v0.6.3"))
        #expect(yaml.contains("cpu: 7500m"))
    }

    /// One Deployment per role works as well: its role from the pod label, its `spec.template` the role's.
    @Test func oneDeploymentPerRoleGivesTheTemplates() throws {
        let deployments = ["decode", "prefill"].map { role in
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: llm-\(role == "decode" ? "gen" : "ctx")}
            spec:
              replicas: 1
              selector: {matchLabels: {app.kubernetes.io/name: llama, heteroscale.io/role: \(role)}}
            \(Self.podTemplate(role).split(separator: "\n").map { String($0.dropFirst(4)) }.joined(separator: "\n"))
            """
        }.joined(separator: "\n---\n")
        let t = try CurateTemplate.parse(deployments, source: "d.yaml")
        #expect(t.prefill["metadata"]?["labels"]?["heteroscale.io/role"] == "prefill")
        #expect(t.decode["metadata"]?["labels"]?["heteroscale.io/role"] == "decode")
        #expect(t.decode["spec"]?["containers"]?[0]?["image"] == "vllm/vllm-openai:v0.6.3")
        #expect(t.name == nil)
    }

    /// Bad templates: the error names the file, the line and field where there is one, and what to do.
    @Test(arguments: [
        (group(roles: ["prefill", "decode", "router"]), ["t.yaml: line 13: spec.roles: 3 role(s) (prefill, decode, router)", "give exactly the roles prefill and decode"]),
        (group(roles: ["prefill"]), ["t.yaml: line 13: spec.roles: 1 role(s) (prefill)", "two-role"]),
        (group(roles: ["prefill", "generate"]), ["t.yaml: line", "spec.roles[1].name: \"generate\" is neither prefill nor decode", "name the roles prefill and decode"]),
        (group(roles: ["decode", "decode"]), ["spec.roles[1].name: decode appears twice"]),
        (group().replacingOccurrences(of: "  containers:", with: "  initContainers:"), ["t.yaml: line", "spec.roles[0].template.spec.containers: no container", "serving container"]),
        ("kind: DeploymentGroup\nspec:\n  roles:\n    - {name: prefill}\n    - {name: decode}\n", ["t.yaml: line 4: spec.roles[0].template: missing or not a mapping"]),
        ("kind: ConfigMap\ndata: {a: b}\n", ["t.yaml: no DeploymentGroup or Deployment in it (kinds: ConfigMap)"]),
        ("kind: Deployment\nmetadata: {name: x-prefill}\nspec: {template: {spec: {containers: [{name: a}]}}}\n", ["t.yaml: line 1: 1 Deployment(s)", "one Deployment for prefill and one for decode"]),
        ("kind: Deployment\nmetadata: {name: a}\n---\nkind: Deployment\nmetadata: {name: b}\n", ["t.yaml: line 2: metadata.name: Deployment a: its role is neither prefill nor decode", "heteroscale.io/role"]),
        ("kind: [unclosed\n", ["t.yaml: line", "the template must be YAML"]),
    ])
    func badTemplatesAreRefusedWithTheFileTheFieldAndWhatToDo(text: String, messages: [String]) {
        #expect {
            try CurateTemplate.parse(text, source: "t.yaml")
        } throws: { error in
            messages.allSatisfy { "\(error)".contains($0) }
        }
    }

    /// The command line: `--template FILE` puts the templates in `-o yaml`; a bad one is one line on standard
    /// error naming the file, the line and field, and exit status 1 before anything runs.
    @Test(arguments: [true, false])
    func theTemplateOptionOfTheCommand(good: Bool) throws {
        let dir = try Self.folder(policies: "[{strategy: hybrid}]")
        defer { dir.cleanup() }
        try dir.write("t.yaml", good ? Self.group() : Self.group(roles: ["prefill", "decode", "router"]))
        let run = try CommandLineTests.heteroscale(["curate", "curate.yaml", "--template", "t.yaml", "-o", "yaml"], in: dir.url)
        if good {
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("image: vllm/vllm-openai:v0.6.3"))
            #expect(run.stdout.contains("scalingStrategy: Hybrid"))
            #expect(run.stdout.contains("namespace: serving"))
        } else {
            #expect(run.status == 1)
            #expect(run.stderr == "error: t.yaml: line 13: spec.roles: 3 role(s) (prefill, decode, router), but curation recommends a two-role P/D group; give exactly the roles prefill and decode\n")
            #expect(run.stdout.isEmpty)
        }
    }

    /// Against the curation: a template asking for other GPUs than the role's `gpusPerInstance`, a missing file,
    /// and (with baseline candidates) two roles with the same pod labels are refused before anything runs.
    @Test(arguments: [
        ("gpus", "the prefill pod template asks for 8 nvidia.com/gpu, but the curation's roles.prefill.gpusPerInstance is 1; make them agree"),
        ("missing", "no-such.yaml: cannot read the template (no such file)"),
        ("labels", "the prefill and decode pod templates have the same labels"),
    ])
    func templatesThatDisagreeWithTheCurationAreRefused(kind: String, message: String) throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        switch kind {
        case "gpus": try dir.write("t.yaml", Self.group(gpus: 8))
        case "labels": try dir.write("t.yaml", Self.group().replacingOccurrences(of: "heteroscale.io/role: decode", with: "heteroscale.io/role: prefill"))
        default: break
        }
        #expect {
            let template = try CurateTemplate.load(path: dir.path(kind == "missing" ? "no-such.yaml" : "t.yaml"))
            _ = try CurateRunner.run(try CurateSpec.load(path: dir.path("curate.yaml")), baseDirectory: dir.url.path, jobs: 1, template: template)
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
