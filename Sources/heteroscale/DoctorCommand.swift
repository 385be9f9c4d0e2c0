import ArgumentParser
import Controller
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

    @Option(help: "Check as for `heteroscale controller --namespace NS`: list/watch in NS only (default: all namespaces, as the controller).")
    var namespace: String?

    @Option(help: "Seconds to wait for a connection to a pod's metrics port.")
    var probeTimeout = 2.0

    @Option(help: "Check the permissions of these controllers, as `heteroscale controller --controllers` (default: all).")
    var controllers = "*"

    @Option(help: "Where the controller's leader-election Lease lives, as `heteroscale controller --leader-election-namespace` (default: the kubeconfig's namespace).")
    var leaderElectionNamespace: String?

    @Option(help: ArgumentHelp("Check as for `heteroscale controller --scrape-via MODE` (direct, apiserver, auto; default: the controller's default here).",
                               valueName: "mode"))
    var scrapeVia: String?

    func validate() throws {
        if let scrapeVia, ScrapeVia(rawValue: scrapeVia) == nil { throw ValidationError("--scrape-via must be direct, apiserver or auto") }
        guard probeTimeout > 0 else { throw ValidationError("--probe-timeout must be positive") }
        do { _ = try HeteroScaleManager.enabled(from: controllers) } catch { throw ValidationError("\(error)") }
    }

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
            let enabled = (try? HeteroScaleManager.enabled(from: controllers)) ?? []
            report = try await Doctor.check(RESTClient(config: config), watchNamespace: namespace, probeTimeout: probeTimeout,
                                            deploymentGroups: !enabled.isDisjoint(with: [DeploymentGroupController.name, DeploymentGroupController.gateName]),
                                            leaseNamespace: leaderElectionNamespace,
                                            scrapeVia: scrapeVia.flatMap(ScrapeVia.init(rawValue:)))
        } catch {
            Self.fail(CommandFailure(description: Doctor.explain(error, server: config.server), exitCode: 2))
        }
        print("Server version: \(report.serverVersion) (\(report.platform))")
        for w in report.warnings { print("WARNING: \(w)") }
        for crd in report.crds {
            print("CRD \(crd.name).heteroscale.io: \(crd.installed ? "installed" : "MISSING (kubectl apply -f crds/)")")
        }
        print("Permissions (the controller lists and watches \(namespace.map { "in namespace \($0)" } ?? "in all namespaces")):")
        for p in report.permissions {
            switch p.allowed {
            case true?: print("  yes \(p.label)")
            case false?: print("  NO  \(p.label): \(p.fix)")
            case nil: print("  ?   \(p.label): \(p.error ?? "unknown")")
            }
        }
        if let p = report.podProxy {
            switch p.allowed {
            case true?: print("  yes \(p.label) (scrapes through the API server's pod proxy)")
            case false?: print("  \(report.scrapeVia == .apiserver ? "NO " : "no ") \(p.label) (scrapes through the API server's pod proxy): \(p.fix)")
            case nil: print("  ?   \(p.label): \(p.error ?? "unknown")")
            }
        }
        print("Scrape mode:   \(report.scrapeSummary)")
        print("Pod metrics endpoints (probed as the controller will scrape them):")
        if let note = report.podProbeNote { print("  -   \(note)") }
        for probe in report.podProbes {
            print("  \(probe.reachable ? "ok " : "NO ") \(probe.autoscaler): pod \(probe.pod) at \(probe.endpoint): \(probe.detail)")
        }
        if report.problems > 0 {
            Self.fail(CommandFailure(description: "\(report.problems) problem(s) found", exitCode: 3))
        }
        print(report.warnings.isEmpty ? "All checks passed." : "All checks passed, with \(report.warnings.count) warning(s).")
    }
}
