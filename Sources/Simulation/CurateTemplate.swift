import Foundation
import YAML

/// The user's pod templates for curation's recommended manifests (`heteroscale curate --template FILE`).
///
/// FILE holds either a `DeploymentGroup` with exactly the roles `prefill` and `decode`, or one `Deployment` per
/// role (its role read from the pod label `heteroscale.io/role`, else from its name, as `simulate` reads it).
/// Each role's pod template (`spec.roles[i].template`, or the Deployment's `spec.template`: container image,
/// args, resources, ports, annotations, volumes, …) is copied verbatim into the recommended DeploymentGroup's
/// role and into the baseline candidates' Deployments. From a DeploymentGroup the group's name, namespace,
/// labels and annotations and its `affinity`, `gate` and `softScaleIn` are kept too; curation sets only the
/// replicas, the weights (the ratio), the GPU types, the GPUs per instance and the role bounds.
public struct CurateTemplate: Sendable, Hashable {
    /// The file the template came from (errors name it).
    public var source: String
    /// The pod template (a `PodTemplateSpec`) of each role, as written.
    public var prefill: JSONValue
    public var decode: JSONValue
    /// From a DeploymentGroup: its `metadata.name` (the service's name in every manifest).
    public var name: String?
    /// From a DeploymentGroup: `metadata.namespace`, `labels`, `annotations` (absent keys are not set).
    public var metadata: JSONObject = [:]
    /// From a DeploymentGroup: `spec.affinity`, `spec.gate`, `spec.softScaleIn` as written.
    public var groupFields: JSONObject = [:]

    /// The pod template of `role` (`prefill` or `decode`).
    public func template(_ role: String) -> JSONValue { role == "prefill" ? prefill : decode }

    /// The pod template of `role` for a plain Deployment (the baseline candidates): as written, except that the
    /// readiness gate of the group's ratio gate (`spec.gate.conditionType`, default `heteroscale.io/pd-ratio`) is
    /// dropped — only a DeploymentGroup sets that condition, so a Deployment's pods would never become ready.
    public func deploymentTemplate(_ role: String) -> JSONValue {
        let pod = template(role)
        let gate = groupFields["gate"]?["conditionType"]?.stringValue ?? "heteroscale.io/pd-ratio"
        guard case .object(var p) = pod, case .object(var spec)? = p["spec"], case .array(let gates)? = spec["readinessGates"] else { return pod }
        let kept = gates.filter { $0["conditionType"]?.stringValue != gate }
        guard kept.count != gates.count else { return pod }
        if kept.isEmpty { _ = spec.removeValue(forKey: "readinessGates") } else { spec["readinessGates"] = .array(kept) }
        p["spec"] = .object(spec)
        return .object(p)
    }

    /// Reads a template file; every error is one line: the file, the line and field, what to do.
    public static func load(path: String) throws -> CurateTemplate {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SimulationError("\(path): cannot read the template (\(FileManager.default.fileExists(atPath: path) ? "not readable" : "no such file")); --template takes a DeploymentGroup or a Deployment per role (YAML)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// Parses a template from YAML text (one or more documents); `source` names it in errors.
    public static func parse(_ text: String, source: String) throws -> CurateTemplate {
        let documents: [YAMLDocument]
        do {
            documents = try YAML.loadDocuments(text)
        } catch {
            throw SimulationError("\(source): \(error); the template must be YAML")
        }
        // The error's line: the node at `path`, or the nearest enclosing node that exists.
        func fail(_ doc: YAMLDocument, _ path: String, _ message: String) -> SimulationError {
            var components = JSONPath.parse(path) ?? []
            var mark = doc.mark(at: path)
            while mark == nil, !components.isEmpty {
                components.removeLast()
                mark = doc.mark(at: JSONPath.format(components))
            }
            let at = mark.map { "line \($0.line): " } ?? ""
            return SimulationError("\(source): \(at)\(path.isEmpty ? "" : path + ": ")\(message)")
        }
        let kinds = documents.map { $0.value["kind"]?.stringValue ?? "" }
        let groups = documents.filter { $0.value["kind"]?.stringValue == "DeploymentGroup" }
        let deployments = documents.filter { $0.value["kind"]?.stringValue == "Deployment" }
        if groups.isEmpty && deployments.isEmpty {
            throw SimulationError("\(source): no DeploymentGroup or Deployment in it (kinds: \(kinds.filter { !$0.isEmpty }.joined(separator: ", ").nonEmpty ?? "none")); give a DeploymentGroup whose roles prefill and decode hold the pod templates, or a Deployment per role")
        }
        if groups.count > 1 || (!groups.isEmpty && !deployments.isEmpty) {
            throw fail(groups.count > 1 ? groups[1] : deployments[0], "kind",
                       "the template holds \(groups.count) DeploymentGroup(s) and \(deployments.count) Deployment(s); give one DeploymentGroup, or one Deployment per role, not both")
        }
        var roles: [String: JSONValue] = [:]
        var out = CurateTemplate(source: source, prefill: .null, decode: .null)
        func podTemplate(_ doc: YAMLDocument, _ path: String) throws -> JSONValue {
            guard let t = doc.value[path: path], case .object = t else {
                throw fail(doc, path, "missing or not a mapping; give the role's pod template (metadata and spec with the serving container)")
            }
            guard let containers = t["spec"]?["containers"], case .array(let list) = containers, !list.isEmpty else {
                throw fail(doc, path + ".spec.containers", "no container; give the serving container (image, args, resources, ports)")
            }
            return t
        }
        if let doc = groups.first {
            guard case .array(let list)? = doc.value["spec"]?["roles"] else {
                throw fail(doc, "spec.roles", "missing; give the roles prefill and decode with their pod templates")
            }
            let names = list.map { $0["name"]?.stringValue ?? "?" }
            guard list.count == 2 else {
                throw fail(doc, "spec.roles", "\(list.count) role(s) (\(names.joined(separator: ", "))), but curation recommends a two-role P/D group; give exactly the roles prefill and decode")
            }
            for (i, name) in names.enumerated() {
                guard name == "prefill" || name == "decode" else {
                    throw fail(doc, "spec.roles[\(i)].name", "\"\(name)\" is neither prefill nor decode; name the roles prefill and decode (the SLA planner and the simulator find them by these names)")
                }
                if roles[name] != nil { throw fail(doc, "spec.roles[\(i)].name", "\(name) appears twice; give one prefill and one decode role") }
                roles[name] = try podTemplate(doc, "spec.roles[\(i)].template")
            }
            out.name = doc.value["metadata"]?["name"]?.stringValue
            for key in ["namespace", "labels", "annotations"] {
                if let v = doc.value["metadata"]?[key] { out.metadata[key] = v }
            }
            for key in ["affinity", "gate", "softScaleIn"] {
                if let v = doc.value["spec"]?[key] { out.groupFields[key] = v }
            }
        } else {
            guard deployments.count == 2 else {
                throw fail(deployments[0], "", "\(deployments.count) Deployment(s), but curation recommends two roles; give one Deployment for prefill and one for decode")
            }
            for doc in deployments {
                let name = doc.value["metadata"]?["name"]?.stringValue ?? "?"
                let label = doc.value["spec"]?["template"]?["metadata"]?["labels"]?["heteroscale.io/role"]?.stringValue
                    ?? doc.value["metadata"]?["labels"]?["heteroscale.io/role"]?.stringValue
                guard let role = (label.flatMap(InstanceRole.infer) ?? InstanceRole.infer(name)), role != .mixed else {
                    throw fail(doc, "metadata.name", "Deployment \(name): its role is neither prefill nor decode; set the pod label heteroscale.io/role to prefill or decode")
                }
                if roles[role.rawValue] != nil {
                    throw fail(doc, "metadata.name", "Deployment \(name) is a second \(role.rawValue) Deployment; give one prefill and one decode Deployment")
                }
                roles[role.rawValue] = try podTemplate(doc, "spec.template")
            }
        }
        guard let p = roles["prefill"], let d = roles["decode"] else {
            throw SimulationError("\(source): no \(roles["prefill"] == nil ? "prefill" : "decode") role; give one prefill and one decode pod template")
        }
        out.prefill = p
        out.decode = d
        return out
    }

    /// Checks the templates against the curation: a pod template's `nvidia.com/gpu` limit (summed over its
    /// containers), when it gives one, must be the role's `gpusPerInstance`.
    public func check(_ spec: CurateSpec) throws {
        for (name, role) in [("prefill", spec.roles.prefill), ("decode", spec.roles.decode)] {
            guard case .array(let containers)? = template(name)["spec"]?["containers"] else { continue }
            var total = 0, given = false
            for c in containers {
                guard let v = c["resources"]?["limits"]?["nvidia.com/gpu"] else { continue }
                given = true
                total += v.intValue.map(Int.init) ?? v.stringValue.flatMap { Int($0) } ?? 0
            }
            if given && total != role.gpusPerInstance {
                throw SimulationError("\(source): the \(name) pod template asks for \(total) nvidia.com/gpu, but the curation's roles.\(name).gpusPerInstance is \(role.gpusPerInstance); make them agree")
            }
        }
        // The baselines' Deployments select their pods by the template's labels: the two roles' must differ.
        let baselines = spec.candidatePolicies.contains { $0.strategy == .independentTPS || $0.strategy == .hpaGPU }
        if baselines, let p = prefill["metadata"]?["labels"], p == decode["metadata"]?["labels"], p.objectValue?.isEmpty == false {
            throw SimulationError("\(source): the prefill and decode pod templates have the same labels, so the baseline candidates' Deployments would select each other's pods; give each a distinct label (e.g. heteroscale.io/role: prefill / decode)")
        }
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}

extension JSONValue {
    /// The value at a dotted path with `[i]` indices (`spec.roles[0].template`), or nil.
    fileprivate subscript(path path: String) -> JSONValue? {
        guard let components = JSONPath.parse(path) else { return nil }
        var v: JSONValue? = self
        for c in components {
            switch c {
            case .key(let k): v = v?[k]
            case .index(let i): v = v?[i]
            }
        }
        return v
    }
}
