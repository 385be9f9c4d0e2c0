import ArgumentParser
import Foundation
import KubeClient
import YAML

/// `heteroscale doctor`: can the controller work against this cluster?
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the connection to the API server, the HeteroScale CRDs and the controller's permissions."
    )

    @OptionGroup var cluster: ClusterOptions

    /// The permissions the controller needs (see charts/heteroscale RBAC).
    static let permissions: [(verb: String, group: String, resource: String, subresource: String)] = [
        ("list", "heteroscale.io", "podautoscalers", ""),
        ("watch", "heteroscale.io", "podautoscalers", ""),
        ("update", "heteroscale.io", "podautoscalers", "status"),
        ("list", "heteroscale.io", "deploymentgroups", ""),
        ("watch", "heteroscale.io", "deploymentgroups", ""),
        ("update", "heteroscale.io", "deploymentgroups", "status"),
        ("get", "apps", "deployments", "scale"),
        ("update", "apps", "deployments", "scale"),
        ("create", "apps", "deployments", ""),
        ("list", "", "pods", ""),
        ("watch", "", "pods", ""),
        ("list", "", "nodes", ""),
        ("create", "events.k8s.io", "events", ""),
        ("get", "coordination.k8s.io", "leases", ""),
        ("update", "coordination.k8s.io", "leases", ""),
    ]

    func run() async throws {
        let config: RESTConfig
        do {
            config = try KubeconfigLoader.load(kubeconfigPath: cluster.kubeconfig, context: cluster.context)
        } catch {
            Self.fail(error)
        }
        let client = RESTClient(config: config)
        print("Configuration: \(config.source)")
        if let ctx = config.contextName { print("Context:       \(ctx)") }
        print("Server:        \(config.server)")
        print("Namespace:     \(config.namespace)")

        // 1. Reachability and the server version.
        let version: JSONValue
        do {
            version = try await client.json(path: "/version")
        } catch {
            Self.fail(CommandFailure(description: Self.explain(error, server: config.server), exitCode: 2))
        }
        print("Server version: \(version["gitVersion"]?.stringValue ?? "unknown") (\(version["platform"]?.stringValue ?? "?"))")

        // 2. CRDs: discovery of heteroscale.io/v1alpha1.
        var problems = 0
        do {
            let resources = try await client.json(path: "/apis/heteroscale.io/v1alpha1")
            let names = Set((resources["resources"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
            for r in ["podautoscalers", "deploymentgroups"] {
                let ok = names.contains(r)
                if !ok { problems += 1 }
                print("CRD \(r).heteroscale.io: \(ok ? "installed" : "MISSING (kubectl apply -f crds/)")")
            }
        } catch let e as KubeAPIError where e.isNotFound {
            problems += 2
            print("CRDs heteroscale.io/v1alpha1: NOT INSTALLED (kubectl apply -f crds/)")
        } catch {
            Self.fail(CommandFailure(description: Self.explain(error, server: config.server), exitCode: 2))
        }

        // 3. Permissions: one SelfSubjectAccessReview each.
        print("Permissions (namespace \(config.namespace)):")
        for p in Self.permissions {
            var attrs: JSONValue = ["verb": .string(p.verb), "group": .string(p.group), "resource": .string(p.resource), "namespace": .string(config.namespace)]
            if !p.subresource.isEmpty { attrs["subresource"] = .string(p.subresource) }
            let review: JSONValue = [
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": ["resourceAttributes": attrs],
            ]
            let label = "\(p.verb) \(p.group.isEmpty ? "" : p.group + "/")\(p.resource)\(p.subresource.isEmpty ? "" : "/" + p.subresource)"
            do {
                let answer = try await client.json(method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: review)
                let allowed = answer["status"]?["allowed"]?.boolValue ?? false
                if !allowed { problems += 1 }
                print("  \(allowed ? "yes" : "NO ") \(label)")
            } catch {
                problems += 1
                print("  ?   \(label): \(Self.explain(error, server: config.server))")
            }
        }
        if problems > 0 {
            Self.fail(CommandFailure(description: "\(problems) problem(s) found", exitCode: 3))
        }
        print("All checks passed.")
    }

    /// One line a person can act on, for the usual ways a first connection fails.
    static func explain(_ error: any Error, server: String) -> String {
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
