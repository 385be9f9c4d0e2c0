import KubeClient
import Testing

/// `LineFramer`, the framing of watch responses (`HTTPStreamingResponse.lines()`): the same lines wherever the
/// network splits the chunks; `\r\n` and a final line without a newline; a partial line over the limit fails.
@Suite struct LineFramerTests {
    static let cases: [(input: String, lines: [String])] = [
        ("", []),
        ("\n", [""]),
        ("a", ["a"]),
        ("a\n", ["a"]),
        ("a\r\nb\r\n", ["a", "b"]),
        ("a\r", ["a"]),
        ("\r\n\r\n", ["", ""]),
        ("{\"type\":\"ADDED\"}\n{\"type\":\"DELETED\"}", ["{\"type\":\"ADDED\"}", "{\"type\":\"DELETED\"}"]),
        ("x\r\ry\n", ["x\r\ry"]),
        ("é\n\u{0}\n", ["é", "\u{0}"]),
    ]

    @Test(arguments: cases, [1, 2, 3, 7, 1 << 20])
    func theLinesDoNotDependOnTheChunks(_ c: (input: String, lines: [String]), chunkSize: Int) throws {
        let bytes = Array(c.input.utf8)
        var framer = LineFramer()
        var lines: [String] = []
        var start = 0
        while start < bytes.count {
            framer.push(Array(bytes[start..<min(start + chunkSize, bytes.count)]))
            start += chunkSize
            while let line = try framer.nextLine() { lines.append(String(decoding: line, as: UTF8.self)) }
        }
        if let last = framer.finish() { lines.append(String(decoding: last, as: UTF8.self)) }
        #expect(framer.finish() == nil)
        #expect(lines == c.lines)
    }

    @Test(arguments: [(chunks: ["12345", "6"], fails: true), (chunks: ["12345\n", "6"], fails: false),
                      (chunks: ["1234", "5\n"], fails: false), (chunks: ["123", "456", "\n"], fails: true)])
    func aPartialLineOverTheLimitFails(chunks: [String], fails: Bool) {
        var framer = LineFramer(maxLineBytes: 5)
        var failed = false
        do {
            for chunk in chunks {
                framer.push(Array(chunk.utf8))
                while try framer.nextLine() != nil {}
            }
        } catch {
            failed = true
        }
        #expect(failed == fails)
    }
}
