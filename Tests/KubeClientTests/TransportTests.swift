import Foundation
import Testing

@testable import KubeClient

/// The libcurl transport against real peers on loopback: a threaded Python HTTP/1.1 server and
/// `openssl s_server` with a test PKI made by the `openssl` CLI.
@Suite(.serialized) struct HTTPTransportTests {
    @Test func bufferedRequestCarriesMethodHeadersAndBody() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        var req = HTTPRequest(method: "PATCH", url: server.base + "/echo?x=1", headers: ["Content-Type": "application/merge-patch+json"])
        req.body = Array(#"{"spec":{"replicas":3}}"#.utf8)
        let resp = try await transport.send(req)
        #expect(resp.status == 200)
        #expect(resp.headers["content-type"] == "application/json")
        let echo = try echoObject(resp.body)
        #expect(echo["method"] as? String == "PATCH")
        #expect(echo["path"] as? String == "/echo?x=1")
        let headers = try #require(echo["headers"] as? [String: Any])
        #expect(headers["content-type"] as? String == "application/merge-patch+json")
        #expect(headers["expect"] == nil)
        #expect(echo["body"] as? String == #"{"spec":{"replicas":3}}"#)
    }

    @Test(arguments: [200, 201, 404, 409, 410, 429, 500, 503])
    func anyStatusIsAResponseNotAnError(code: Int) async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        let resp = try await transport.send(HTTPRequest(url: server.base + "/status?code=\(code)"))
        #expect(resp.status == code)
        #expect(resp.bodyString == "status body")
    }

    @Test func streamingDeliversEachLineBeforeTheNextIsSent() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        // The server sends line i and then blocks until we release gate i: if the transport buffered the
        // response, this test could not progress past the first line.
        let stream = try await transport.stream(HTTPRequest(url: server.base + "/lines?n=4&gate=t1", timeout: nil))
        #expect(stream.status == 200)
        var lines = stream.lines().makeAsyncIterator()
        for i in 0..<4 {
            let line = try #require(try await lines.next())
            #expect(String(decoding: line, as: UTF8.self) == "line \(i)")
            if i < 3 {
                let r = try await transport.send(HTTPRequest(url: server.base + "/release?gate=t1&i=\(i)"))
                #expect(r.status == 200)
            }
        }
        #expect(try await lines.next() == nil)
    }

    @Test func streamingAppliesBackPressureWithoutLosingBytes() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        var config = HTTPTransport.Configuration()
        config.streamHighWater = 64 << 10
        config.streamLowWater = 16 << 10
        let transport = HTTPTransport(configuration: config)
        defer { transport.shutdown() }
        let total = 8 << 20
        let stream = try await transport.stream(HTTPRequest(url: server.base + "/big?bytes=\(total)", timeout: nil))
        var received = 0
        var maxBuffered = 0
        var corrupt = false
        for try await chunk in stream {
            for (k, b) in chunk.enumerated() where b != UInt8((received + k) % 251) { corrupt = true }
            received += chunk.count
            maxBuffered = max(maxBuffered, stream.buffer.bufferedBytes)
            // A slow reader: yield so the network thread runs ahead and must pause.
            await Task.yield()
        }
        #expect(received == total)
        #expect(!corrupt)
        // Never more than the high-water mark plus one libcurl write (≤ 16 KiB per callback; 64 KiB with TLS).
        #expect(maxBuffered <= (64 << 10) + (64 << 10))
    }

    @Test func cancellingTheConsumerAbortsAnEndlessStream() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        let task = Task {
            let stream = try await transport.stream(HTTPRequest(url: server.base + "/forever", timeout: nil))
            var n = 0
            for try await _ in stream.lines() { n += 1 }
            return n
        }
        // Wait until the stream is really flowing by asking the server: a connection was accepted.
        var accepted = 0
        while accepted < 1 {
            accepted = Int(try await transport.send(HTTPRequest(url: server.base + "/connections")).bodyString) ?? 0
            await Task.yield()
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The transport is still usable afterwards.
        #expect(try await transport.send(HTTPRequest(url: server.base + "/status?code=204")).status == 204)
    }

    @Test func cancellingABufferedRequest() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        let task = Task { try await transport.send(HTTPRequest(url: server.base + "/slow?ms=20000")) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func hundredConcurrentRequestsEachGetTheirOwnAnswer() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        var config = HTTPTransport.Configuration()
        config.maxConcurrentTransfers = 16  // more requests than slots: the rest queue in order
        let transport = HTTPTransport(configuration: config)
        defer { transport.shutdown() }
        let results = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for i in 0..<100 {
                group.addTask {
                    var req = HTTPRequest(method: "POST", url: server.base + "/echo?i=\(i)")
                    req.body = Array("request \(i)".utf8)
                    let resp = try await transport.send(req)
                    return (i, try echoObject(resp.body)["body"] as? String)
                }
            }
            var all: [Int: String?] = [:]
            for try await (i, body) in group { all[i] = body }
            return all
        }
        #expect(results.count == 100)
        for i in 0..<100 { #expect(results[i] == "request \(i)") }
        // Keep-alive: far fewer connections than requests.
        let conns = Int(try await transport.send(HTTPRequest(url: server.base + "/connections")).bodyString) ?? 0
        #expect(conns <= 17 + 1)
    }

    @Test func timeoutIsReportedAsSuch() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        await #expect {
            _ = try await transport.send(HTTPRequest(url: server.base + "/slow?ms=5000", timeout: 0.2))
        } throws: { error in
            guard case TransportError.timedOut = error else { return false }
            return true
        }
    }

    @Test func refusedConnectionIsReportedAsSuch() async throws {
        // Bind a port, then stop the server so nothing listens there.
        let server = try await TestHTTPServer()
        let port = server.port
        server.stop()
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        await #expect {
            _ = try await transport.send(HTTPRequest(url: "http://127.0.0.1:\(port)/echo"))
        } throws: { error in
            guard case TransportError.connectionRefused = error else { return false }
            return "\(error)".contains("127.0.0.1:\(port)")
        }
    }

    @Test func requestsAfterShutdownFail() async throws {
        let transport = HTTPTransport()
        transport.shutdown()
        await #expect(throws: TransportError.shutDown) {
            _ = try await transport.send(HTTPRequest(url: "http://127.0.0.1:1/"))
        }
    }
}

/// The /echo endpoint's JSON as a Foundation dictionary.
private func echoObject(_ body: [UInt8]) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
}

/// TLS against `openssl s_server`.
@Suite(.serialized) struct TLSTransportTests {
    enum Expect: Sendable { case ok, unknownAuthority, nameMismatch, clientRejected }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var serverCert = "server"
        var requireClientCert = false
        var ca: String? = "ca.crt"
        var client: String? = nil
        var host = "127.0.0.1"
        var serverName: String? = nil
        var insecure = false
        var expect: Expect
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "right CA verifies", expect: .ok),
        Case(name: "right CA, host by name", host: "localhost", expect: .ok),
        Case(name: "wrong CA fails as unknown authority", ca: "other-ca.crt", expect: .unknownAuthority),
        Case(name: "system store does not know the test CA", ca: nil, expect: .unknownAuthority),
        Case(name: "certificate for another name fails as name mismatch", serverCert: "wrong-name", expect: .nameMismatch),
        Case(name: "tls-server-name verifies against the given name", serverCert: "wrong-name", serverName: "wrong.example", expect: .ok),
        Case(name: "insecure-skip-tls-verify accepts anything", serverCert: "wrong-name", ca: "other-ca.crt", insecure: true, expect: .ok),
        Case(name: "client certificate from embedded data is accepted", requireClientCert: true, client: "client", expect: .ok),
        Case(name: "missing client certificate is rejected", requireClientCert: true, expect: .clientRejected),
        Case(name: "client certificate from an unknown CA is rejected", requireClientCert: true, client: "rogue-client", expect: .clientRejected),
    ]

    @Test(arguments: cases)
    func tlsVerification(_ c: Case) async throws {
        let pki = try TestPKI.make()
        defer { pki.dir.cleanup() }
        try pki.dir.write("hello.txt", "hello over TLS\n")
        let server = try await TestTLSServer(pki: pki, cert: c.serverCert, requireClientCertificate: c.requireClientCert)
        defer { server.stop() }
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        var tls = TLSOptions(serverName: c.serverName, insecureSkipVerify: c.insecure)
        if let ca = c.ca { tls.caPEM = try pki.pem(ca) }
        if let client = c.client {
            tls.clientCertificatePEM = try pki.pem("\(client).crt")
            tls.clientKeyPEM = try pki.pem("\(client).key")
        }
        let req = HTTPRequest(url: "https://\(c.host):\(server.port)/hello.txt", timeout: 10, tls: tls)
        switch c.expect {
        case .ok:
            let resp = try await transport.send(req)
            #expect(resp.status == 200)
            #expect(resp.bodyString == "hello over TLS\n")
        case .unknownAuthority, .nameMismatch, .clientRejected:
            do {
                let resp = try await transport.send(req)
                Issue.record("expected a TLS failure, got HTTP \(resp.status)")
            } catch let error as TransportError {
                switch (c.expect, error) {
                case (.unknownAuthority, .tlsUnknownAuthority), (.nameMismatch, .tlsNameMismatch),
                     (.clientRejected, .tlsClientCertificateRejected):
                    // The message names the URL; it never contains key material.
                    #expect("\(error)".contains("127.0.0.1") || "\(error)".contains("localhost"))
                    #expect(!"\(error)".contains("PRIVATE KEY"))
                default:
                    Issue.record("wrong error for \(c.name): \(error)")
                }
            }
        }
    }
}
