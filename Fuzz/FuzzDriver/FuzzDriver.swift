// libFuzzer's driver for HeteroScale's fuzz targets (compiled only with HETEROSCALE_FUZZ=1 and
// `-sanitize=fuzzer,address`; see docs/fuzzing.md and tools/fuzz.sh).
//
// Each target is an executable whose entry point (`@_cdecl("<Target>_main")`, the symbol SwiftPM links as `main`
// on Linux) hands its arguments to `LLVMFuzzerRunDriver`, libFuzzer's entry point for programs that keep their
// own `main`.

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The body under test; set once by `runFuzzer` before the driver starts (libFuzzer's callback is a C function
/// and cannot capture).
nonisolated(unsafe) private var body: (([UInt8]) -> Void)?

/// Runs libFuzzer with the program's arguments (its flags: `-runs=N`, `-max_total_time=S`, corpus folders …),
/// calling `test` with every input. A crash, a trap (`fatalError`, a failed precondition, an overflow), an
/// AddressSanitizer or LeakSanitizer report, or a timeout ends the run with the input written as `crash-…`,
/// `leak-…` or `timeout-…`.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ test: @escaping ([UInt8]) -> Void) -> CInt {
    body = test
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v) { data, count in
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
        body?(bytes)
        return 0
    }
}
