import TestSupport
import Foundation

/// A throw-away PKI made with the `openssl` CLI: a CA, a server certificate for localhost/127.0.0.1, a server
/// certificate for another name, a second unrelated CA, and a client certificate signed by a client CA.
struct TestPKI: Sendable {
    let dir: TestDirectory

    static func make() throws -> TestPKI {
        let dir = try TestDirectory("heteroscale-pki")
        let openssl = which("openssl") ?? "/usr/bin/openssl"
        func run(_ args: [String]) throws { try runCommand(openssl, args, directory: dir.url) }
        func ca(_ name: String, cn: String) throws {
            try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).crt", "-days", "2", "-subj", "/CN=\(cn)",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        func leaf(_ name: String, cn: String, san: String?, signer: String, usage: String) throws {
            try run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(cn)"])
            var ext = "basicConstraints=CA:FALSE\nextendedKeyUsage=\(usage)\n"
            if let san { ext += "subjectAltName=\(san)\n" }
            try dir.write("\(name).ext", ext)
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(signer).crt", "-CAkey", "\(signer).key",
                     "-CAcreateserial", "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext"])
        }
        try ca("ca", cn: "heteroscale-test-ca")
        try ca("other-ca", cn: "some-other-ca")
        try ca("client-ca", cn: "heteroscale-client-ca")
        try leaf("server", cn: "localhost", san: "DNS:localhost,IP:127.0.0.1", signer: "ca", usage: "serverAuth")
        try leaf("wrong-name", cn: "wrong.example", san: "DNS:wrong.example", signer: "ca", usage: "serverAuth")
        try leaf("client", cn: "system:admin", san: nil, signer: "client-ca", usage: "clientAuth")
        try leaf("rogue-client", cn: "rogue", san: nil, signer: "other-ca", usage: "clientAuth")
        return TestPKI(dir: dir)
    }

    func pem(_ name: String) throws -> [UInt8] { try dir.read(name) }
    func path(_ name: String) -> String { dir.path(name) }
}

/// `openssl s_server -WWW` serving files from the PKI directory, optionally requiring a client certificate.
final class TestTLSServer: Sendable {
    let process: TestProcess
    let port: Int

    init(pki: TestPKI, cert: String = "server", requireClientCertificate: Bool = false) async throws {
        let openssl = which("openssl") ?? "/usr/bin/openssl"
        var args = ["s_server", "-accept", "127.0.0.1:0", "-cert", pki.path("\(cert).crt"), "-key", pki.path("\(cert).key"), "-WWW"]
        if requireClientCertificate {
            args += ["-Verify", "1", "-verify_return_error", "-CAfile", pki.path("client-ca.crt")]
        }
        process = try TestProcess(openssl, args, directory: pki.dir.url)
        let line = try await process.waitForLine(containing: "ACCEPT")
        guard let p = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw TestProcessError.ended(output: process.output)
        }
        port = p
    }

    func stop() { process.stop() }
}
