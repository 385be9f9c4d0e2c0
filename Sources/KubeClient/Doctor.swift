import KubeAPI
import YAML

/// What `heteroscale doctor` finds out about a cluster: can the controller work against it, from here?
public struct DoctorReport: Sendable {
    public struct Permission: Sendable, Hashable {
        public var verb: String
        public var group: String
        public var resource: String
        public var subresource: String
        /// The namespace asked about; `""` means all namespaces (what a cluster-wide list/watch needs).
        public var namespace: String = ""
        /// `nil` when the review itself failed.
        public var allowed: Bool?
        public var error: String?
        /// What grants it: the flag or the chart's RBAC rule to change when it is denied.
        public var fix: String = ""

        public var label: String {
            "\(verb) \(group.isEmpty ? "" : group + "/")\(resource)\(subresource.isEmpty ? "" : "/" + subresource)"
                + (resource == "nodes" ? " (cluster)" : namespace.isEmpty ? " (all namespaces)" : " (namespace \(namespace))")
        }
    }

    /// One probe of a pod a PodAutoscaler scrapes: can this machine open a connection to its IP and port?
    public struct PodProbe: Sendable, Hashable {
        /// `namespace/name` of the PodAutoscaler.
        public var autoscaler: String
        public var pod: String
        /// `10.244.1.5:8000`.
        public var endpoint: String
        public var reachable: Bool
        /// What happened, and for an unreachable pod what to do.
        public var detail: String
    }

    public var serverVersion: String
    public var platform: String
    /// Major and minor of the server, when `/version` gave them.
    public var serverMinorVersion: (major: Int, minor: Int)?
    /// CRD resource name → installed.
    public var crds: [(name: String, installed: Bool)]
    public var permissions: [Permission]
    /// Pods of PodAutoscalers' targets probed (one per PodAutoscaler, a few PodAutoscalers).
    public var podProbes: [PodProbe] = []
    /// Why no pod was probed, when none was (no PodAutoscalers, no running pods, listing refused).
    public var podProbeNote: String?
    /// Things that may not work, without failing the check (e.g. a server older than the supported minimum).
    public var warnings: [String] = []
    /// The `--scrape-via` mode the check assumed (the controller's default unless given), and why.
    public var scrapeVia: ScrapeVia = .direct
    public var scrapeViaReason = ""
    /// `get pods/proxy`, asked when the mode may use the pod proxy (`apiserver`, `auto`).
    public var podProxy: Permission?

    public var problems: Int {
        crds.filter { !$0.installed }.count + permissions.filter { $0.allowed != true }.count
            + podProbes.filter { !$0.reachable }.count + (scrapeVia == .apiserver && podProxy?.allowed != true ? 1 : 0)
    }

    /// One line on how the controller will reach pods, from the mode, the pod proxy permission and the probes.
    public var scrapeSummary: String {
        let proxy = podProxy?.allowed
        switch scrapeVia {
        case .direct:
            return "direct (\(scrapeViaReason)): pods are scraped at their IPs from where the controller runs"
        case .apiserver:
            return "apiserver (\(scrapeViaReason)): every pod scrape goes through the API server's pod proxy"
                + (proxy == true ? "" : " — but get pods/proxy is not allowed")
        case .auto:
            let fellBack = podProbes.contains { $0.detail.contains("through the API server's pod proxy") && $0.reachable }
            let base = "auto (\(scrapeViaReason)): "
            if proxy != true { return base + "pods must answer directly (get pods/proxy is not allowed, so there is no fallback)" }
            if fellBack { return base + "pod IPs do not answer from here, so pods will be scraped through the API server's pod proxy" }
            if podProbes.isEmpty { return base + "no pods to probe yet; the pod proxy is allowed as the fallback" }
            return base + "pods answer directly, so they will be scraped at their IPs (the pod proxy stays the fallback)"
        }
    }
}

/// `/version` did not come from a Kubernetes API server (e.g. an HTML page behind the URL).
public struct NotKubernetesError: Error, Sendable, CustomStringConvertible {
    public var server: String
    public var what: String
    public var description: String {
        "\(server) is not a Kubernetes API server: GET /version answered \(what); check the server URL of the kubeconfig's cluster (clusters[].cluster.server)"
    }
}

public enum Doctor {
    /// A permission the controller needs. `clusterWide` ones are asked for all namespaces (the controller
    /// lists and watches cluster-wide unless run with `--namespace`), the others in the kubeconfig's namespace;
    /// `clusterScoped` resources (Nodes) are always asked at cluster scope, whatever `--namespace` says.
    public struct Requirement: Sendable, Hashable {
        public var verb: String
        public var group: String
        public var resource: String
        public var subresource: String
        public var clusterWide: Bool
        public var clusterScoped = false

        public init(verb: String, group: String, resource: String, subresource: String, clusterWide: Bool, clusterScoped: Bool = false) {
            self.verb = verb
            self.group = group
            self.resource = resource
            self.subresource = subresource
            self.clusterWide = clusterWide
            self.clusterScoped = clusterScoped
        }
    }

    /// The permissions the PodAutoscaler controller uses (kept in step with
    /// `charts/heteroscale/templates/clusterrole.yaml` and `role.yaml`; the DeploymentGroup controller's extra
    /// permissions join when it does). Its informers list and watch PodAutoscalers and pods.
    public static let requiredPermissions: [Requirement] = [
        Requirement(verb: "list", group: "heteroscale.io", resource: "podautoscalers", subresource: "", clusterWide: true),
        Requirement(verb: "watch", group: "heteroscale.io", resource: "podautoscalers", subresource: "", clusterWide: true),
        Requirement(verb: "list", group: "", resource: "pods", subresource: "", clusterWide: true),
        Requirement(verb: "watch", group: "", resource: "pods", subresource: "", clusterWide: true),
        Requirement(verb: "get", group: "heteroscale.io", resource: "podautoscalers", subresource: "", clusterWide: false),
        Requirement(verb: "update", group: "heteroscale.io", resource: "podautoscalers", subresource: "status", clusterWide: false),
        Requirement(verb: "get", group: "apps", resource: "deployments", subresource: "scale", clusterWide: false),
        Requirement(verb: "update", group: "apps", resource: "deployments", subresource: "scale", clusterWide: false),
        Requirement(verb: "get", group: "apps", resource: "statefulsets", subresource: "scale", clusterWide: false),
        Requirement(verb: "update", group: "apps", resource: "statefulsets", subresource: "scale", clusterWide: false),
        Requirement(verb: "get", group: "heteroscale.io", resource: "deploymentgroups", subresource: "", clusterWide: false),
        Requirement(verb: "get", group: "heteroscale.io", resource: "deploymentgroups", subresource: "scale", clusterWide: false),
        Requirement(verb: "update", group: "heteroscale.io", resource: "deploymentgroups", subresource: "scale", clusterWide: false),
        Requirement(verb: "create", group: "events.k8s.io", resource: "events", subresource: "", clusterWide: false),
        Requirement(verb: "patch", group: "events.k8s.io", resource: "events", subresource: "", clusterWide: false),
        // The recorder falls back to core/v1 events on servers without events.k8s.io/v1.
        Requirement(verb: "create", group: "", resource: "events", subresource: "", clusterWide: false),
        Requirement(verb: "patch", group: "", resource: "events", subresource: "", clusterWide: false),
        Requirement(verb: "get", group: "coordination.k8s.io", resource: "leases", subresource: "", clusterWide: false),
        Requirement(verb: "create", group: "coordination.k8s.io", resource: "leases", subresource: "", clusterWide: false),
        Requirement(verb: "update", group: "coordination.k8s.io", resource: "leases", subresource: "", clusterWide: false),
    ]

    /// What the DeploymentGroup controller and the P/D gate add (the chart grants them with
    /// `deploymentGroups.enabled`): their informers list and watch groups, Deployments and pods, placement reads
    /// Nodes; they write child Deployments, group status, pods' deletion cost and the gate's pod condition; a
    /// role-scoped PodAutoscaler patches its group's spec.
    public static let deploymentGroupPermissions: [Requirement] = [
        Requirement(verb: "list", group: "heteroscale.io", resource: "deploymentgroups", subresource: "", clusterWide: true),
        Requirement(verb: "watch", group: "heteroscale.io", resource: "deploymentgroups", subresource: "", clusterWide: true),
        Requirement(verb: "list", group: "apps", resource: "deployments", subresource: "", clusterWide: true),
        Requirement(verb: "watch", group: "apps", resource: "deployments", subresource: "", clusterWide: true),
        Requirement(verb: "list", group: "", resource: "nodes", subresource: "", clusterWide: true, clusterScoped: true),
        Requirement(verb: "watch", group: "", resource: "nodes", subresource: "", clusterWide: true, clusterScoped: true),
        Requirement(verb: "patch", group: "heteroscale.io", resource: "deploymentgroups", subresource: "", clusterWide: false),
        Requirement(verb: "update", group: "heteroscale.io", resource: "deploymentgroups", subresource: "status", clusterWide: false),
        Requirement(verb: "create", group: "apps", resource: "deployments", subresource: "", clusterWide: false),
        Requirement(verb: "update", group: "apps", resource: "deployments", subresource: "", clusterWide: false),
        Requirement(verb: "delete", group: "apps", resource: "deployments", subresource: "", clusterWide: false),
        Requirement(verb: "patch", group: "", resource: "pods", subresource: "", clusterWide: false),
        Requirement(verb: "patch", group: "", resource: "pods", subresource: "status", clusterWide: false),
    ]

    public static let crdResources = ["podautoscalers", "deploymentgroups"]

    /// Runs the checks. Throws (transport error, `KubeAPIError`, `NotKubernetesError`) when the server cannot be
    /// talked to at all; missing CRDs, denied permissions and unreachable pods are part of the report.
    /// - Parameters:
    ///   - watchNamespace: as the controller's `--namespace`: list/watch is checked there instead of in all
    ///     namespaces, and only its PodAutoscalers are probed.
    ///   - probeTimeout: seconds to wait for a pod's connection.
    ///   - deploymentGroups: also check `deploymentGroupPermissions` (the DeploymentGroup controller or the gate
    ///     is enabled).
    ///   - leaseNamespace: where the controller's Lease lives (`--leader-election-namespace`); default the
    ///     kubeconfig's namespace.
    ///   - scrapeVia: as the controller's `--scrape-via`; `nil` is its default for this configuration. `apiserver`
    ///     and `auto` check `get pods/proxy` and probe pods through the pod proxy (`auto`: when they do not answer directly).
    public static func check(_ client: RESTClient, watchNamespace: String? = nil, probeTimeout: Double = 2,
                             deploymentGroups: Bool = false, leaseNamespace: String? = nil,
                             scrapeVia: ScrapeVia? = nil) async throws -> DoctorReport {
        let version = try await serverVersion(client)
        var report = DoctorReport(
            serverVersion: version["gitVersion"]?.stringValue ?? "unknown",
            platform: version["platform"]?.stringValue ?? "unknown", crds: [], permissions: [])
        report.serverMinorVersion = SupportedKubernetes.version(
            major: version["major"]?.stringValue, minor: version["minor"]?.stringValue, gitVersion: version["gitVersion"]?.stringValue)
        if let v = report.serverMinorVersion, SupportedKubernetes.isOlderThanMinimum(v) {
            report.warnings.append(
                "the server is Kubernetes \(v.major).\(v.minor), older than the minimum supported \(SupportedKubernetes.minimumString): "
                    + "the CRDs will not install (their x-kubernetes-validations use fieldPath, new in 1.28); upgrade the cluster")
        }

        do {
            let resources = try await client.json(path: "/apis/heteroscale.io/v1alpha1")
            let names = Set((resources["resources"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
            report.crds = crdResources.map { ($0, names.contains($0)) }
        } catch let e as KubeAPIError where e.isNotFound {
            report.crds = crdResources.map { ($0, false) }
        }

        for p in requiredPermissions + (deploymentGroups ? deploymentGroupPermissions : []) {
            let namespace = p.clusterScoped ? "" : p.clusterWide ? (watchNamespace ?? "")
                : p.resource == "leases" ? (leaseNamespace ?? client.config.namespace) : client.config.namespace
            var permission = await review(client, p, namespace: namespace)
            permission.fix = fix(p, namespace: namespace, watchNamespace: watchNamespace)
            report.permissions.append(permission)
        }

        (report.scrapeVia, report.scrapeViaReason) = scrapeVia.map { ($0, "--scrape-via \($0)") } ?? ScrapeVia.defaultMode(for: client.config)
        if report.scrapeVia.usesPodProxy {
            let p = PodProxy.permission
            let need = Requirement(verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource, clusterWide: true)
            report.podProxy = await review(client, need, namespace: watchNamespace ?? "")
            report.podProxy?.fix = fix(need, namespace: watchNamespace ?? "", watchNamespace: watchNamespace)
            if report.scrapeVia == .auto, report.podProxy?.allowed != true {
                report.warnings.append("get pods/proxy is not allowed: --scrape-via auto cannot fall back to the API server's pod proxy "
                                       + "(grant it, e.g. the chart's scrapeVia: auto, or make pod IPs reachable)")
            }
        }

        if report.crds.first(where: { $0.name == "podautoscalers" })?.installed == true {
            (report.podProbes, report.podProbeNote) = await probePods(
                client, namespace: watchNamespace, timeout: probeTimeout, mode: report.scrapeVia, proxyAllowed: report.podProxy?.allowed == true)
        } else {
            report.podProbeNote = "no PodAutoscaler CRD, so no pods to probe"
        }
        return report
    }

    /// GET /version, refusing anything that is not a Kubernetes answer in one line (never an HTML dump).
    static func serverVersion(_ client: RESTClient) async throws -> JSONValue {
        let response = try await client.send(path: "/version")
        let contentType = response.headers["Content-Type"] ?? ""
        let json = try? JSONValue.parseJSON(response.body)
        if (200..<300).contains(response.status) {
            if let json, json["gitVersion"]?.stringValue != nil || json["major"]?.stringValue != nil { return json }
            throw NotKubernetesError(server: client.config.server, what: "\(response.status) with " + describeBody(response.body, contentType: contentType, json: json))
        }
        if json?["kind"]?.stringValue == "Status" {
            throw KubeAPIError(response: response, method: "GET", path: "/version")
        }
        throw NotKubernetesError(server: client.config.server, what: "\(response.status) with " + describeBody(response.body, contentType: contentType, json: json))
    }

    /// `an HTML page ("Welcome to nginx!")`, `text/plain "404 page not found"`, `JSON without gitVersion`.
    static func describeBody(_ body: [UInt8], contentType: String, json: JSONValue?) -> String {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        if contentType.contains("html") || text.drop(while: { $0.isWhitespace }).hasPrefix("<") {
            if let open = text.range(of: "<title>", options: .caseInsensitive),
                let close = text.range(of: "</title>", options: .caseInsensitive, range: open.upperBound..<text.endIndex)
            {
                return "an HTML page (\"\(oneLine(String(text[open.upperBound..<close.lowerBound]), limit: 80))\")"
            }
            return "an HTML page"
        }
        if json != nil { return "JSON without gitVersion" }
        if body.isEmpty { return "an empty body" }
        return (contentType.isEmpty ? "" : "\(contentType) ") + "\"\(oneLine(text, limit: 80))\""
    }

    /// Whitespace collapsed to single spaces, at most `limit` characters.
    static func oneLine(_ s: String, limit: Int = 200) -> String {
        let collapsed = s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        return collapsed.count > limit ? String(collapsed.prefix(limit)) + "…" : collapsed
    }

    /// One SelfSubjectAccessReview.
    /// The flag or RBAC rule that grants `p` (what to do when it is denied).
    static func fix(_ p: Requirement, namespace: String, watchNamespace: String?) -> String {
        let rule = "\(p.verb) on \(p.group.isEmpty ? "core" : p.group) \(p.subresource.isEmpty ? p.resource : p.resource + "/" + p.subresource)"
        if p.resource == "leases" {
            return "grant \(rule) in namespace \(namespace) (the chart's Role …-leader-election, leaderElect=true), "
                + "or point --leader-election-namespace at a namespace where it is granted"
        }
        if p.resource == "pods" && p.subresource == "proxy" {
            return "grant \(rule) (the chart's scrapeVia: apiserver or auto adds it to the ClusterRole), or run the controller "
                + "with --scrape-via direct where pod IPs are reachable"
        }
        if p.clusterScoped {
            return "grant \(rule) cluster-wide (the chart's ClusterRole and ClusterRoleBinding …-nodes, deploymentGroups.enabled=true)"
        }
        if p.clusterWide && watchNamespace == nil {
            return "bind the ClusterRole with a ClusterRoleBinding (chart: watchNamespace empty), or run the controller with "
                + "--namespace NS (and doctor with --namespace NS) to need it in one namespace only"
        }
        if deploymentGroupPermissions.contains(p) {
            return "add \(rule) to the ClusterRole (chart: deploymentGroups.enabled=true), or run --controllers=podautoscaler"
        }
        return "add \(rule) to the ClusterRole (charts/heteroscale/templates/clusterrole.yaml)"
    }

    static func review(_ client: RESTClient, _ p: Requirement, namespace: String) async -> DoctorReport.Permission {
        var attrs: JSONValue = ["verb": .string(p.verb), "group": .string(p.group), "resource": .string(p.resource)]
        if !namespace.isEmpty { attrs["namespace"] = .string(namespace) }
        if !p.subresource.isEmpty { attrs["subresource"] = .string(p.subresource) }
        let body: JSONValue = [
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": ["resourceAttributes": attrs],
        ]
        var perm = DoctorReport.Permission(verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource, namespace: namespace)
        do {
            let answer = try await client.json(method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: body)
            perm.allowed = answer["status"]?["allowed"]?.boolValue ?? false
        } catch {
            perm.error = explain(error, server: client.config.server)
        }
        return perm
    }

    /// One line a person can act on, for the usual ways a first connection fails.
    public static func explain(_ error: any Error, server: String) -> String {
        switch error {
        case let e as TransportError:
            switch e {
            case .tlsUnknownAuthority:
                return "\(e). Check certificate-authority(-data) in the kubeconfig."
            case .tlsNameMismatch:
                return "\(e). The server's certificate does not cover this address; set tls-server-name or use the right server URL."
            case .tlsClientCertificateRejected:
                return "\(e). Check client-certificate(-data)/client-key(-data)."
            case .connectionRefused, .couldNotResolve, .timedOut:
                return "the API server \(server) is unreachable: \(e)"
            default:
                return "\(e)"
            }
        case let e as KubeAPIError where e.isUnauthorized:
            return "the API server rejected the credentials (401 Unauthorized): \(apiMessage(e))"
        case let e as KubeAPIError where e.isForbidden:
            return "access denied (403 Forbidden): \(apiMessage(e))"
        case let e as KubeAPIError:
            return "\(e.method) \(e.path): \(e.code) \(e.reason): \(apiMessage(e))"
        default:
            return oneLine("\(error)", limit: 400)
        }
    }

    /// The message of an API error on one line; an HTML body (a proxy's error page) shortened to its title.
    static func apiMessage(_ e: KubeAPIError) -> String {
        let m = e.message
        if m.drop(while: { $0.isWhitespace }).hasPrefix("<") { return describeBody(Array(m.utf8), contentType: "text/html", json: nil) }
        return oneLine(m)
    }
}
