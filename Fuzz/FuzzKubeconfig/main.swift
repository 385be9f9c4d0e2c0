import Foundation
import FuzzDriver
import KubeClient

/// The kubeconfig loader (`Kubeconfig.parse`, then `restConfig()` for the current context: TLS options,
/// server and proxy URLs, credentials, exec-plugin settings). Nothing is run or contacted: an exec plugin is
/// only validated (it runs on the first request), and files a kubeconfig names are read — relative ones
/// resolve under the nonexistent `/fuzz/`.
@_cdecl("FuzzKubeconfig_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let environment = KubeEnvironment(variables: [:], homeDirectory: "/nonexistent-home", currentDirectory: "/nonexistent",
                                      inClusterRoot: "/nonexistent-incluster", clock: { Date(timeIntervalSince1970: 0) }, execTimeout: 1)
    return runFuzzer(argc, argv) { bytes in
        guard let config = try? Kubeconfig.parse(bytes, file: "/fuzz/kubeconfig", environment: environment) else { return }
        _ = try? config.restConfig(environment: environment)
        if let other = config.contexts.last?.name {
            _ = try? config.restConfig(context: other, namespace: "fuzz", environment: environment)
        }
    }
}
