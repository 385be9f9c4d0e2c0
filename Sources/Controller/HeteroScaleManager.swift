import Foundation
import KubeClient
import KubeRuntime
import Logging

/// The `heteroscale controller` process minus its command line: a `Manager` with HeteroScale's controllers
/// (each can be disabled), one event recorder, and the checks it runs at start.
public final class HeteroScaleManager: Sendable {
    public struct Configuration: Sendable {
        /// Watch one namespace, or all when `nil`.
        public var namespace: String?
        /// Leader election on a Lease; `nil` runs without it.
        public var leaderElection: LeaderElector<ContinuousClock>.Config?
        /// Reconcile workers per controller.
        public var workers = 2
        public var podAutoscaler = PodAutoscalerReconcilerOptions()
        public var deploymentGroup = DeploymentGroupReconcilerOptions()
        /// The controllers to run (`HeteroScaleManager.controllers`).
        public var enabled: Set<String> = Set(HeteroScaleManager.controllers)
        public init(namespace: String? = nil, leaderElection: LeaderElector<ContinuousClock>.Config? = nil) {
            self.namespace = namespace
            self.leaderElection = leaderElection
        }
    }

    /// Every controller this process can run, by name.
    public static let controllers = [PodAutoscalerController.name, DeploymentGroupController.name, DeploymentGroupController.gateName]

    /// The controllers a `--controllers` value enables, kube-controller-manager style: a comma-separated list
    /// of names, `*` for all, `-name` to disable one (`*,-deploymentgroup`).
    public static func enabled(from text: String) throws -> Set<String> {
        var out: Set<String> = []
        for raw in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !raw.isEmpty {
            if raw == "*" {
                out.formUnion(controllers)
                continue
            }
            let disable = raw.hasPrefix("-")
            let name = disable ? String(raw.dropFirst()) : raw
            guard controllers.contains(name) else {
                throw ControllerStartupError(message: "--controllers: unknown controller \"\(name)\" (known: \(controllers.joined(separator: ", ")))")
            }
            if disable { out.remove(name) } else { out.insert(name) }
        }
        return out
    }

    public let manager: Manager
    private let logger: Logger

    public init(client: RESTClient, metrics: any MetricsProvider, configuration: Configuration, registry: MetricsRegistry,
                logger: Logger, instance: String) {
        self.logger = logger
        manager = Manager(client: client, configuration: Manager.Configuration(namespace: configuration.namespace,
                                                                              leaderElection: configuration.leaderElection),
                          registry: registry, logger: logger)
        ControllerMetricNames.register(in: registry)
        let recorder = EventRecorder(client: client, controller: "heteroscale.io/controller", instance: instance, clock: ContinuousClock())
        if configuration.enabled.contains(PodAutoscalerController.name) {
            PodAutoscalerController.add(to: manager, metrics: metrics, recorder: recorder, options: configuration.podAutoscaler,
                                        workers: configuration.workers, logger: logger)
        }
        if configuration.enabled.contains(DeploymentGroupController.name) {
            DeploymentGroupController.add(to: manager, recorder: recorder, options: configuration.deploymentGroup,
                                          workers: configuration.workers, logger: logger)
        }
        if configuration.enabled.contains(DeploymentGroupController.gateName) {
            DeploymentGroupController.addGate(to: manager, recorder: recorder, workers: configuration.workers, logger: logger)
        }
    }

    /// Fails at once, with what to do, when a CRD an enabled controller needs is not served.
    public func checkCRDs() async throws {
        if manager.controllerNames.contains(PodAutoscalerController.name) {
            try await PodAutoscalerController.checkCRD(client: manager.client, logger: logger)
        }
        if manager.controllerNames.contains(where: { [DeploymentGroupController.name, DeploymentGroupController.gateName].contains($0) }) {
            try await DeploymentGroupController.checkCRD(client: manager.client, logger: logger)
        }
    }

    public var isReady: Bool { manager.isReady }
    public var notReadyReason: String { manager.notReadyReason }
    public var isLeader: Bool { manager.isLeader }
    public func shutdown() { manager.shutdown() }
    public func run() async throws { try await manager.run() }
}
