import Foundation
import YAML

/// Authenticated requests to one API server, from a `RESTConfig` (kubeconfig or in-cluster).
/// Adds credentials per request, and on 401 asks the credential source to refresh and retries once.
public struct RESTClient: Sendable {
    public let config: RESTConfig
    public let transport: HTTPTransport

    public init(config: RESTConfig, transport: HTTPTransport = .shared) {
        self.config = config
        self.transport = transport
    }

    /// Builds the transport request for `path` (starting with `/`, may carry a query).
    public func makeRequest(method: String, path: String, body: [UInt8]? = nil, contentType: String? = nil,
                            accept: String = "application/json", timeout: Double? = 30) async throws -> HTTPRequest {
        let auth = try await config.credentials.authorization()
        var tls = config.tls
        if let cert = auth.clientCertificatePEM, let key = auth.clientKeyPEM {
            tls.clientCertificatePEM = cert
            tls.clientKeyPEM = key
        }
        var headers: HTTPHeaders = ["Accept": accept]
        if let h = auth.headerValue { headers.add("Authorization", h) }
        if let contentType { headers.add("Content-Type", contentType) }
        return HTTPRequest(method: method, url: config.server + path, headers: headers, body: body,
                           timeout: timeout, tls: tls, proxyURL: config.proxyURL)
    }

    /// Sends a request; any status comes back as a response (see `expectSuccess`).
    public func send(method: String = "GET", path: String, body: [UInt8]? = nil, contentType: String? = nil,
                     timeout: Double? = 30) async throws -> HTTPResponse {
        var response = try await transport.send(makeRequest(method: method, path: path, body: body, contentType: contentType, timeout: timeout))
        if response.status == 401, await config.credentials.invalidate() {
            response = try await transport.send(makeRequest(method: method, path: path, body: body, contentType: contentType, timeout: timeout))
        }
        return response
    }

    /// GETs or sends JSON and returns the decoded JSON body; a non-2xx answer throws `KubeAPIError`.
    public func json(method: String = "GET", path: String, body: JSONValue? = nil,
                     contentType: String = "application/json") async throws -> JSONValue {
        let bytes = try body?.jsonBytes()
        let response = try await send(method: method, path: path, body: bytes, contentType: bytes == nil ? nil : contentType)
        guard (200..<300).contains(response.status) else {
            throw KubeAPIError(response: response, method: method, path: path)
        }
        return response.body.isEmpty ? .null : try JSONValue.parseJSON(response.body)
    }
}
