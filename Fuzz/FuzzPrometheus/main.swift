import FuzzDriver
import Metrics

/// The Prometheus text-format parser, whole and filtered to the metrics the signals read.
@_cdecl("FuzzPrometheus_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        _ = try? PrometheusText.parse(bytes)
        _ = try? PrometheusText.parse(bytes, only: ["vllm:num_requests_running", "vllm:inter_token_latency_seconds"])
    }
}
