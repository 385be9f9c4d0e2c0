import Foundation
import KubeClient
import Testing
import TestSupport
import YAML

/// The Helm chart, rendered by a real `helm` (`tools/install-helm.sh`, run by `make test`), grants exactly the
/// permissions `heteroscale doctor` checks — the same list the controllers' code uses — in every layout.
@Suite struct HelmChartTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `$HELM`, `.build/tools/helm` (what `make test` installs) or `helm` on PATH.
    static let helm: String? = {
        if let h = ProcessInfo.processInfo.environment["HELM"], FileManager.default.isExecutableFile(atPath: h) { return h }
        let local = "\(root)/.build/tools/helm"
        return FileManager.default.isExecutableFile(atPath: local) ? local : which("helm")
    }()

    static func render(_ sets: [String]) throws -> [JSONValue] {
        let helm = try #require(helm, "no helm: run tools/install-helm.sh (make test does)")
        let out = try runCommand(helm, ["template", "hs", "\(root)/charts/heteroscale", "--namespace", "ops"] + sets.flatMap { ["--set", $0] })
        return try YAML.loadAll(out).filter { $0 != .null }
    }

    /// Whether `objects` grant `p`: a rule of a role bound (cluster-wide, or in `namespace` by a RoleBinding) to
    /// the chart's ServiceAccount allows the verb on the resource.
    static func grants(_ objects: [JSONValue], _ p: Doctor.Requirement, namespace: String?) -> Bool {
        let resource = p.subresource.isEmpty ? p.resource : "\(p.resource)/\(p.subresource)"
        let bindings = objects.filter { ["ClusterRoleBinding", "RoleBinding"].contains($0["kind"]?.stringValue ?? "") }
        return bindings.contains { binding in
            let clusterWide = binding["kind"]?.stringValue == "ClusterRoleBinding"
            let where_ = binding["metadata"]?["namespace"]?.stringValue
            // A cluster-wide need (list/watch in all namespaces, cluster-scoped kinds) needs a ClusterRoleBinding,
            // unless the controller watches one namespace and the binding is there.
            if !clusterWide {
                if p.clusterScoped { return false }
                if p.clusterWide && where_ != namespace { return false }
                if !p.clusterWide && where_ != namespace && where_ != "ops" { return false }
            }
            guard let roleName = binding["roleRef"]?["name"]?.stringValue, let roleKind = binding["roleRef"]?["kind"]?.stringValue,
                  let role = objects.first(where: { $0["kind"]?.stringValue == roleKind && $0["metadata"]?["name"]?.stringValue == roleName })
            else { return false }
            return (role["rules"]?.arrayValue ?? []).contains { rule in
                (rule["apiGroups"]?.arrayValue ?? []).contains(.string(p.group))
                    && (rule["resources"]?.arrayValue ?? []).contains(.string(resource))
                    && (rule["verbs"]?.arrayValue ?? []).contains(.string(p.verb))
            }
        }
    }

    static func args(_ objects: [JSONValue]) -> [String] {
        let d = objects.first { $0["kind"]?.stringValue == "Deployment" }
        return (d?["spec"]?["template"]?["spec"]?["containers"]?[0]?["args"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    @Test(.enabled(if: helm != nil), arguments: [
        // (--set values, namespace the controller watches, DeploymentGroup controller on)
        ([String](), nil as String?, true),
        (["watchNamespace=team"], "team", true),
        (["deploymentGroups.enabled=false"], nil, false),
        (["watchNamespace=team", "deploymentGroups.enabled=false"], "team", false),
    ])
    func theChartGrantsWhatTheControllersUse(sets: [String], namespace: String?, deploymentGroups: Bool) throws {
        let objects = try Self.render(sets)
        // Leases live in the release namespace (leader election is on by default).
        for p in Doctor.requiredPermissions {
            #expect(Self.grants(objects, p, namespace: p.resource == "leases" ? "ops" : namespace), "\(sets): \(p.verb) \(p.resource)/\(p.subresource)")
        }
        for p in Doctor.deploymentGroupPermissions {
            // Reading groups is the PodAutoscaler controller's too (groups are scale targets): granted either way.
            let expected = deploymentGroups || (p.resource == "deploymentgroups" && p.subresource.isEmpty && ["list", "watch"].contains(p.verb))
            #expect(Self.grants(objects, p, namespace: namespace) == expected, "\(sets): \(p.verb) \(p.resource)/\(p.subresource)")
        }
        let args = Self.args(objects)
        #expect(args.contains("--controllers") == !deploymentGroups)
        if !deploymentGroups { #expect(args.split(separator: "--controllers").last?.first == "podautoscaler") }
    }

    @Test(.enabled(if: helm != nil)) func theChartLints() throws {
        let out = try runCommand(try #require(Self.helm), ["lint", "\(Self.root)/charts/heteroscale"])
        #expect(out.contains("0 chart(s) failed"))
    }
}
