import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import KubeRuntime
import Logging
import YAML

/// The PodAutoscaler controller: its reconciler and watches, run by a `Manager`. It reads the shared
/// PodAutoscaler and Pod caches; a PodAutoscaler is reconciled when it is created, deleted, or its spec,
/// labels, annotations (AIBrix settings) or deletion state change, and then on its own tick (`requeueAfter`).
public enum PodAutoscalerController {
    public static let name = "podautoscaler"

    /// Registers the controller with `manager`.
    public static func add(to manager: Manager, metrics: any MetricsProvider, recorder: EventRecorder<ContinuousClock>,
                           options: PodAutoscalerReconcilerOptions = .init(), workers: Int = 2, logger: Logger) {
        let autoscalers = manager.informer(.podAutoscalers).store
        let pods = manager.informer(.pods).store
        let reconciler = PodAutoscalerReconciler(
            client: manager.client, discovery: Discovery(client: manager.client), autoscalers: autoscalers, pods: pods,
            metrics: metrics, recorder: recorder, registry: manager.registry, logger: logger, options: options)
        let own = Watch.primary(.podAutoscalers, labels: true, annotations: true)
        // A deletion re-queues the namespace's other PodAutoscalers: one of them may now own the target.
        let siblings = Watch(.podAutoscalers) { event in
            guard case .deleted(let o) = event, let key = ObjectStore.key(of: o) else { return [] }
            return autoscalers.list(namespace: key.namespace).compactMap(ObjectStore.key(of:)).filter { $0 != key }
        }
        manager.add(ControllerDefinition(name: name, reconciler: reconciler, watches: [own, siblings], workers: workers))
    }

    /// Fails at once, with what to do, when the PodAutoscaler CRD is not served (controller-runtime's
    /// "no matches for kind"); other errors are left to the informers' retries.
    public static func checkCRD(client: RESTClient, logger: Logger) async throws {
        do {
            _ = try await Discovery(client: client).resolve(apiVersion: PodAutoscaler.apiVersion, kind: PodAutoscaler.kind)
        } catch let e as KubeAPIError where e.isNotFound {
            throw ControllerStartupError(message: "the API server does not serve \(PodAutoscaler.apiVersion) PodAutoscaler: "
                + "the CRD is not installed (kubectl apply -f crds/), or not established yet")
        } catch {
            logger.warning("cannot check the CRDs yet", metadata: ["error": "\(error)"])
        }
    }
}

/// The controller cannot start (the CRD is missing).
public struct ControllerStartupError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
