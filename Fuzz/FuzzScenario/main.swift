import FuzzDriver
import Simulation

/// The scenario loader (strict YAML decoding of `heteroscale simulate` input and its checks).
@_cdecl("FuzzScenario_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        _ = try? ScenarioSpec.parse(String(decoding: bytes, as: UTF8.self))
    }
}
