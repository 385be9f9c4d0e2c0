import Foundation
import KubeClient
import Testing

/// Bounded reads: a response body over the transport's limit is refused, not buffered (the controller sets
/// 16 MiB for scrapes and Prometheus answers, 512 MiB for API lists), and a stream line over its limit (a watch
/// event) fails the stream.
@Suite struct BoundedReadTests {
    @Test(arguments: [(limit: 4096, bytes: 4096, refused: false), (limit: 4096, bytes: 4097, refused: true),
                      (limit: 1 << 20, bytes: 3 << 20, refused: true), (limit: 16 << 20, bytes: 1 << 20, refused: false)])
    func aBodyOverTheLimitIsRefused(limit: Int, bytes: Int, refused: Bool) async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        var config = HTTPTransport.Configuration()
        config.maxBufferedBodyBytes = limit
        let transport = HTTPTransport(configuration: config)
        defer { transport.shutdown() }
        do {
            let response = try await transport.send(HTTPRequest(url: server.base + "/big?bytes=\(bytes)"))
            #expect(!refused, "a \(bytes)-byte body passed a \(limit)-byte limit")
            #expect(response.body.count == bytes)
        } catch let error as TransportError {
            #expect(refused, "\(error)")
            #expect("\(error)".contains("exceeds \(limit) bytes"))
        }
        // The transport still works after refusing a body.
        #expect(try await transport.send(HTTPRequest(url: server.base + "/status?code=204")).status == 204)
    }

    @Test func aStreamLineOverItsLimitFailsTheStream() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        // /echo answers one line of JSON holding the request body: 64 KiB without a newline, against a 16 KiB limit.
        let stream = try await transport.stream(HTTPRequest(method: "POST", url: server.base + "/echo",
                                                            body: Array(repeating: UInt8(ascii: "a"), count: 64 << 10), timeout: nil))
        var lines = stream.lines(maxLineBytes: 16 << 10).makeAsyncIterator()
        await #expect(throws: TransportError.self) { while try await lines.next() != nil {} }
    }
}
