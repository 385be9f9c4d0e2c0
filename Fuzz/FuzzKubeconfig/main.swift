import Foundation
import FuzzDriver
import KubeClient

/// The kubeconfig loader: parse, then resolve the current context (files it names are read, exec plugins are
/// never run here: a user with `exec` is only parsed).
@_cdecl("FuzzKubeconfig_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let environment = KubeEnvironment(variables: [:], homeDirectory: "/nonexistent-home", currentDirectory: "/nonexistent",
                                      inClusterRoot: "/nonexistent-incluster", clock: { Date(timeIntervalSince1970: 0) }, execTimeout: 1)
    return runFuzzer(argc, argv) { bytes in
        guard let config = try? Kubeconfig.parse(bytes, file: "/fuzz/kubeconfig", environment: environment),
              !config.users.contains(where: { $0.exec != nil }) else { return }
        _ = try? config.restConfig(environment: environment)
    }
}
