import YAML

/// What `heteroscale doctor` finds out about a cluster: can the controller work against it?
public struct DoctorReport: Sendable {
    public struct Permission: Sendable, Hashable {
        public var verb: String
        public var group: String
        public var resource: String
        public var subresource: String
        /// `nil` when the review itself failed.
        public var allowed: Bool?
        public var error: String?

        public var label: String {
            "\(verb) \(group.isEmpty ? "" : group + "/")\(resource)\(subresource.isEmpty ? "" : "/" + subresource)"
        }
    }

    public var serverVersion: String
    public var platform: String
    /// CRD resource name → installed.
    public var crds: [(name: String, installed: Bool)]
    public var permissions: [Permission]

    public var problems: Int {
        crds.filter { !$0.installed }.count + permissions.filter { $0.allowed != true }.count
    }
}

public enum Doctor {
    /// The permissions the PodAutoscaler controller uses, asked in the kubeconfig's namespace (kept in step
    /// with `charts/heteroscale/templates/clusterrole.yaml` and `role.yaml`; the DeploymentGroup controller's
    /// extra permissions join when it does).
    public static let requiredPermissions: [(verb: String, group: String, resource: String, subresource: String)] = [
        ("list", "heteroscale.io", "podautoscalers", ""),
        ("watch", "heteroscale.io", "podautoscalers", ""),
        ("get", "heteroscale.io", "podautoscalers", ""),
        ("update", "heteroscale.io", "podautoscalers", "status"),
        ("get", "apps", "deployments", "scale"),
        ("update", "apps", "deployments", "scale"),
        ("list", "", "pods", ""),
        ("watch", "", "pods", ""),
        ("create", "events.k8s.io", "events", ""),
        ("patch", "events.k8s.io", "events", ""),
        ("get", "coordination.k8s.io", "leases", ""),
        ("create", "coordination.k8s.io", "leases", ""),
        ("update", "coordination.k8s.io", "leases", ""),
    ]

    public static let crdResources = ["podautoscalers", "deploymentgroups"]

    /// Runs the checks. Throws (transport error or `KubeAPIError`) when the server cannot be talked to at
    /// all; CRDs missing and permissions denied are part of the report.
    public static func check(_ client: RESTClient) async throws -> DoctorReport {
        let version = try await client.json(path: "/version")
        var report = DoctorReport(
            serverVersion: version["gitVersion"]?.stringValue ?? "unknown",
            platform: version["platform"]?.stringValue ?? "unknown", crds: [], permissions: [])

        do {
            let resources = try await client.json(path: "/apis/heteroscale.io/v1alpha1")
            let names = Set((resources["resources"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
            report.crds = crdResources.map { ($0, names.contains($0)) }
        } catch let e as KubeAPIError where e.isNotFound {
            report.crds = crdResources.map { ($0, false) }
        }

        let namespace = client.config.namespace
        for p in requiredPermissions {
            var attrs: JSONValue = ["verb": .string(p.verb), "group": .string(p.group), "resource": .string(p.resource), "namespace": .string(namespace)]
            if !p.subresource.isEmpty { attrs["subresource"] = .string(p.subresource) }
            let review: JSONValue = [
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": ["resourceAttributes": attrs],
            ]
            var perm = DoctorReport.Permission(verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource)
            do {
                let answer = try await client.json(method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: review)
                perm.allowed = answer["status"]?["allowed"]?.boolValue ?? false
            } catch {
                perm.error = explain(error, server: client.config.server)
            }
            report.permissions.append(perm)
        }
        return report
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
            return "the API server rejected the credentials (401 Unauthorized): \(e.message)"
        case let e as KubeAPIError where e.isForbidden:
            return "access denied (403 Forbidden): \(e.message)"
        default:
            return "\(error)"
        }
    }
}
