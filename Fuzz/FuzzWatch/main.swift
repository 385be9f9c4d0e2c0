import FuzzDriver
import KubeClient

/// The watch-stream decoder: every line of a watch response becomes an event or an error.
@_cdecl("FuzzWatch_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            _ = try? WatchEvent(json: Array(line))
        }
    }
}
