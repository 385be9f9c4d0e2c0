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

    func run() async throws {
        let config: RESTConfig
        do {
            config = try KubeconfigLoader.load(kubeconfigPath: cluster.kubeconfig, context: cluster.context)
        } catch {
            Self.fail(error)
        }
        print("Configuration: \(config.source)")
        if let ctx = config.contextName { print("Context:       \(ctx)") }
        print("Server:        \(config.server)")
        print("Namespace:     \(config.namespace)")
        let report: DoctorReport
        do {
            report = try await Doctor.check(RESTClient(config: config))
        } catch {
            Self.fail(CommandFailure(description: Doctor.explain(error, server: config.server), exitCode: 2))
        }
        print("Server version: \(report.serverVersion) (\(report.platform))")
        for crd in report.crds {
            print("CRD \(crd.name).heteroscale.io: \(crd.installed ? "installed" : "MISSING (kubectl apply -f crds/)")")
        }
        print("Permissions (namespace \(config.namespace)):")
        for p in report.permissions {
            switch p.allowed {
            case true?: print("  yes \(p.label)")
            case false?: print("  NO  \(p.label)")
            case nil: print("  ?   \(p.label): \(p.error ?? "unknown")")
            }
        }
        if report.problems > 0 {
            Self.fail(CommandFailure(description: "\(report.problems) problem(s) found", exitCode: 3))
        }
        print("All checks passed.")
    }
}
