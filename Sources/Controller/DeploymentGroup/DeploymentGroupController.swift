import Foundation
import KubeAPI
import KubeClient
import KubeRuntime
import Logging
import Placement
import YAML

/// The DeploymentGroup controller and the P/D ratio gate, run by a `Manager`. A group is reconciled when it
/// changes, when one of its child Deployments or pods changes (owner and label triggers), and, while part of
/// it could not be placed, when a node changes.
public enum DeploymentGroupController {
    public static let name = "deploymentgroup"
    public static let gateName = "gate"

    /// The pods of groups: a change to one enqueues its group.
    static func groupPods() -> Watch {
        Watch(.pods) { event in
            var keys: [ObjectKey] = []
            for o in event.objects {
                guard let group = o["metadata"]?["labels"]?[GroupLabels.group]?.stringValue else { continue }
                let key = ObjectKey(namespace: o["metadata"]?["namespace"]?.stringValue ?? "", name: group)
                if !keys.contains(key) { keys.append(key) }
            }
            return keys
        }
    }

    /// Registers the group controller with `manager`.
    public static func add(to manager: Manager, recorder: EventRecorder<ContinuousClock>, options: DeploymentGroupReconcilerOptions = .init(),
                           workers: Int = 2, logger: Logger) {
        let groups = manager.informer(.deploymentGroups).store
        let reconciler = DeploymentGroupReconciler(
            client: manager.client, groups: groups, deployments: manager.informer(.deployments).store,
            pods: manager.informer(.pods).store, nodes: manager.informer(.nodes).store,
            autoscalers: manager.informer(.podAutoscalers).store, recorder: recorder, logger: logger, options: options, registry: manager.registry)
        // Capacity changed: the groups that are short of it look again.
        let nodes = Watch(.nodes) { event in
            if case .updated(let old, let new) = event, old["spec"] == new["spec"], old["metadata"]?["labels"] == new["metadata"]?["labels"],
               old["status"]?["allocatable"] == new["status"]?["allocatable"],
               (old["status"]?["conditions"]?.arrayValue ?? []).first(where: { $0["type"] == "Ready" })?["status"]
                == (new["status"]?["conditions"]?.arrayValue ?? []).first(where: { $0["type"] == "Ready" })?["status"] {
                return []  // a heartbeat
            }
            return groups.list().filter { g in
                (g["status"]?["conditions"]?.arrayValue ?? []).contains {
                    $0["type"]?.stringValue == DeploymentGroupStatusBuilder.placed && $0["status"]?.stringValue != "True"
                }
            }.compactMap(ObjectStore.key(of:))
        }
        manager.add(ControllerDefinition(
            name: name, reconciler: reconciler,
            watches: [.primary(.deploymentGroups), .owned(.deployments, ownerKind: DeploymentGroup.kind, ownerAPIGroup: "heteroscale.io"),
                      groupPods(), nodes],
            workers: workers))
    }

    /// Registers the P/D ratio gate with `manager`.
    public static func addGate(to manager: Manager, recorder: EventRecorder<ContinuousClock>, workers: Int = 2, logger: Logger) {
        let reconciler = RatioGateReconciler(
            client: manager.client, groups: manager.informer(.deploymentGroups).store, pods: manager.informer(.pods).store,
            recorder: recorder, logger: logger)
        manager.add(ControllerDefinition(name: gateName, reconciler: reconciler, watches: [.primary(.deploymentGroups), groupPods()],
                                         workers: workers))
    }

    /// Fails at once, with what to do, when the DeploymentGroup CRD is not served.
    public static func checkCRD(client: RESTClient, logger: Logger) async throws {
        do {
            _ = try await Discovery(client: client).resolve(apiVersion: DeploymentGroup.apiVersion, kind: DeploymentGroup.kind)
        } catch let e as KubeAPIError where e.isNotFound {
            throw ControllerStartupError(message: "the API server does not serve \(DeploymentGroup.apiVersion) DeploymentGroup: "
                + "the CRD is not installed (kubectl apply -f crds/), or not established yet; or run with --controllers=*,-deploymentgroup,-gate")
        } catch {
            logger.warning("cannot check the CRDs yet", metadata: ["error": "\(error)"])
        }
    }
}
