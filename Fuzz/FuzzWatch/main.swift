import FuzzDriver
import KubeClient

/// The watch-stream decoder: the response's bytes are framed into lines by `LineFramer` (what
/// `HTTPStreamingResponse.lines()` uses), delivered once whole and once in chunks of 1 to 16 bytes (the first
/// byte picks the size); both framings must give the same lines, and every non-empty line becomes a
/// `WatchEvent` or an error, never a crash.
@_cdecl("FuzzWatch_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        let whole = frame(bytes, chunkSize: max(bytes.count, 1))
        let chunked = frame(bytes, chunkSize: 1 + Int(bytes.first ?? 0) % 16)
        precondition(whole == chunked, "the framing depends on where the chunks end")
        for line in whole where !line.isEmpty {
            if let event = try? WatchEvent(json: line) { _ = event.resourceVersion }
        }
    }
}

/// Every line of `bytes` fed to a `LineFramer` in chunks of `chunkSize` (no line limit is reached: the
/// default is 16 MiB and inputs are far smaller).
func frame(_ bytes: [UInt8], chunkSize: Int) -> [[UInt8]] {
    var framer = LineFramer()
    var lines: [[UInt8]] = []
    var start = 0
    while start < bytes.count {
        framer.push(Array(bytes[start..<min(start + chunkSize, bytes.count)]))
        start += chunkSize
        while let line = try! framer.nextLine() { lines.append(line) }
    }
    if let last = framer.finish() { lines.append(last) }
    return lines
}
