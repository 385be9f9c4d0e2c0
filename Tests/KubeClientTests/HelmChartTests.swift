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

    /// `helm lint --strict` over a matrix of values: every layout a user can pick lints clean.
    @Test(.enabled(if: helm != nil), arguments: [
        [String](), ["watchNamespace=team"], ["deploymentGroups.enabled=false"], ["replicas=1", "leaderElect=false"],
        ["podAntiAffinity=hard"], ["podAntiAffinity=none", "podDisruptionBudget.enabled=false"],
        ["metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"], ["rbac.create=false", "serviceAccount.create=false"],
        ["metrics.service.enabled=false", "logFormat=text", "logLevel=debug", "advisory=true"],
        ["scrapeVia=auto"], ["scrapeVia=apiserver", "watchNamespace=team"],
        ["prometheusRule.enabled=true", "prometheusRule.labels.release=prom"],
    ])
    func theChartLintsStrictly(sets: [String]) throws {
        let out = try runCommand(try #require(Self.helm), ["lint", "--strict", "\(Self.root)/charts/heteroscale"] + sets.flatMap { ["--set", $0] })
        #expect(out.contains("0 chart(s) failed"), "\(sets)")
    }

    /// Mistakes fail at template time with a message that says what is wrong.
    @Test(.enabled(if: helm != nil), arguments: [
        (["leaderElection=true"], "Additional property leaderElection is not allowed"),
        (["replicas=two"], "replicas: Invalid type. Expected: integer, given: string"),
        (["replicas=0"], "replicas: Must be greater than or equal to 1"),
        (["logFormat=yaml"], "logFormat"),
        (["podAntiAffinity=always"], "podAntiAffinity"),
        (["scrapeVia=sometimes"], "scrapeVia"),
        (["metrics.servicemonitor.enabled=true"], "Additional property servicemonitor is not allowed"),
        (["leaderElect=false"], "replicas=2 needs leaderElect=true"),
        (["metrics.service.enabled=false", "metrics.serviceMonitor.enabled=true"], "metrics.serviceMonitor.enabled needs metrics.service.enabled=true"),
    ])
    func mistakesFailAtTemplateTime(sets: [String], message: String) throws {
        do {
            _ = try Self.render(sets)
            Issue.record("\(sets) rendered")
        } catch let TestProcessError.failed(_, _, output) {
            #expect(output.contains(message), "\(sets): \(output)")
        }
    }

    @Test(.enabled(if: helm != nil)) func theChartNeedsAServerTheCRDsInstallOn() throws {
        let helm = try #require(Self.helm)
        let chart = "\(Self.root)/charts/heteroscale"
        #expect(throws: TestProcessError.self) { try runCommand(helm, ["template", "hs", chart, "--kube-version", "1.27.3"]) }
        #expect(throws: Never.self) { try runCommand(helm, ["template", "hs", chart, "--kube-version", "1.28.0"]) }
    }

    /// Two replicas: a PodDisruptionBudget and anti-affinity keep a standby; one replica: neither.
    @Test(.enabled(if: helm != nil)) func replicasAreSpreadAndProtected() throws {
        let two = try Self.render([])
        let pdb = two.first { $0["kind"]?.stringValue == "PodDisruptionBudget" }
        #expect(pdb?["spec"]?["maxUnavailable"]?.intValue == 1)
        let affinity = two.first { $0["kind"]?.stringValue == "Deployment" }?["spec"]?["template"]?["spec"]?["affinity"]
        #expect(affinity?["podAntiAffinity"]?["preferredDuringSchedulingIgnoredDuringExecution"]?[0]?["podAffinityTerm"]?["topologyKey"] == "kubernetes.io/hostname")
        let hard = try Self.render(["podAntiAffinity=hard"]).first { $0["kind"]?.stringValue == "Deployment" }
        #expect(hard?["spec"]?["template"]?["spec"]?["affinity"]?["podAntiAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"] != nil)
        let one = try Self.render(["replicas=1"])
        #expect(!one.contains { $0["kind"]?.stringValue == "PodDisruptionBudget" })
        #expect(one.first { $0["kind"]?.stringValue == "Deployment" }?["spec"]?["template"]?["spec"]?["affinity"] == nil)
        let monitor = try Self.render(["metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"])
            .first { $0["kind"]?.stringValue == "ServiceMonitor" }
        #expect(monitor?["metadata"]?["labels"]?["release"] == "prom")
        #expect(monitor?["spec"]?["endpoints"]?[0]?["port"] == "metrics")
    }

    /// `get pods/proxy` is granted only for the modes that scrape through the API server's pod proxy, and the mode
    /// reaches the controller as `--scrape-via`; doctor asks for the same permission (`PodProxy.permission`).
    @Test(.enabled(if: helm != nil), arguments: [
        // (--set values, namespace the controller watches, mode passed, pods/proxy granted)
        ([String](), nil as String?, "direct", false),
        (["scrapeVia=direct"], nil, "direct", false),
        (["scrapeVia=auto"], nil, "auto", true),
        (["scrapeVia=apiserver"], nil, "apiserver", true),
        (["scrapeVia=auto", "watchNamespace=team"], "team", "auto", true),
        (["scrapeVia=apiserver", "deploymentGroups.enabled=false"], nil, "apiserver", true),
    ])
    func podProxyIsGrantedOnlyWhenTheModeUsesIt(sets: [String], namespace: String?, mode: String, granted: Bool) throws {
        let objects = try Self.render(sets)
        let p = PodProxy.permission
        let need = Doctor.Requirement(verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource, clusterWide: true)
        #expect(Self.grants(objects, need, namespace: namespace) == granted, "\(sets)")
        #expect(ScrapeVia(rawValue: mode)?.usesPodProxy == granted)
        let args = Self.args(objects)
        let i = try #require(args.firstIndex(of: "--scrape-via"), "\(args)")
        #expect(args[i + 1] == mode)
    }
}
