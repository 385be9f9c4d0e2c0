import YAML

/// A non-2xx answer of the API server, decoded from its `metav1.Status` body when there is one.
public struct KubeAPIError: Error, Sendable, CustomStringConvertible {
    /// `metav1.Status.reason`: NotFound, AlreadyExists, Conflict, Gone, Expired, Forbidden, Unauthorized,
    /// TooManyRequests, Invalid, InternalError, ServiceUnavailable, ...
    public var reason: String
    public var code: Int
    public var message: String
    public var method: String
    public var path: String
    /// Seconds from a `Retry-After` header or `details.retryAfterSeconds`.
    public var retryAfterSeconds: Int?

    public var description: String {
        "\(method) \(path): \(code) \(reason): \(message)"
    }

    public var isNotFound: Bool { code == 404 }
    public var isConflict: Bool { code == 409 }
    public var isGone: Bool { code == 410 || reason == "Expired" || reason == "Gone" }
    public var isUnauthorized: Bool { code == 401 }
    public var isForbidden: Bool { code == 403 }

    public init(reason: String, code: Int, message: String, method: String, path: String, retryAfterSeconds: Int? = nil) {
        self.reason = reason
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Decodes the Status body; falls back to the status code and a bounded excerpt of the body.
    public init(response: HTTPResponse, method: String, path: String) {
        self.method = method
        self.path = path
        code = response.status
        let status = try? JSONValue.parseJSON(response.body)
        if let status, status["kind"]?.stringValue == "Status" {
            reason = status["reason"]?.stringValue ?? KubeAPIError.defaultReason(response.status)
            message = status["message"]?.stringValue ?? ""
            if let c = status["code"]?.intValue { code = Int(c) }
            retryAfterSeconds = status["details"]?["retryAfterSeconds"]?.intValue.map { Int($0) }
        } else {
            reason = KubeAPIError.defaultReason(response.status)
            message = String(response.bodyString.prefix(512)).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let ra = response.headers["Retry-After"], let s = Int(ra) { retryAfterSeconds = s }
    }

    static func defaultReason(_ code: Int) -> String {
        switch code {
        case 400: return "BadRequest"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 405: return "MethodNotAllowed"
        case 409: return "Conflict"
        case 410: return "Expired"
        case 422: return "Invalid"
        case 429: return "TooManyRequests"
        case 500: return "InternalError"
        case 503: return "ServiceUnavailable"
        case 504: return "Timeout"
        default: return "Unknown"
        }
    }
}
