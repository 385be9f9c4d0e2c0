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
    /// `details.causes` of a 422 Invalid (field path, reason, message).
    public var causes: [Cause] = []

    public struct Cause: Sendable, Hashable, CustomStringConvertible {
        public var reason: String
        public var message: String
        public var field: String
        public var description: String { field.isEmpty ? message : "\(field): \(message)" }
    }

    /// The kinds of failure a caller acts on differently (apimachinery's `errors.IsXxx`).
    public enum Kind: Sendable, Hashable {
        case notFound, alreadyExists, conflict, expired, forbidden, unauthorized, tooManyRequests, invalid
        case badRequest, methodNotAllowed, timeout, serverError, other
    }

    public var kind: Kind {
        switch (reason, code) {
        case ("NotFound", _), (_, 404): return .notFound
        case ("AlreadyExists", _): return .alreadyExists
        case ("Conflict", _), (_, 409): return .conflict
        case ("Expired", _), ("Gone", _), (_, 410): return .expired
        case ("Forbidden", _), (_, 403): return .forbidden
        case ("Unauthorized", _), (_, 401): return .unauthorized
        case ("TooManyRequests", _), (_, 429): return .tooManyRequests
        case ("Invalid", _), (_, 422): return .invalid
        case ("BadRequest", _), (_, 400): return .badRequest
        case ("MethodNotAllowed", _), (_, 405): return .methodNotAllowed
        case ("Timeout", _), (_, 504): return .timeout
        case (_, 500...599): return .serverError
        default: return .other
        }
    }

    public var isAlreadyExists: Bool { kind == .alreadyExists }
    public var isInvalid: Bool { kind == .invalid }
    public var isTooManyRequests: Bool { kind == .tooManyRequests }
    /// 5xx and 429: worth retrying after a backoff.
    public var isRetryable: Bool { kind == .serverError || kind == .tooManyRequests || kind == .timeout }

    public var description: String {
        let base = "\(method) \(path): \(code) \(reason): \(message)"
        guard !causes.isEmpty, !causes.allSatisfy({ message.contains($0.message) }) else { return base }
        return base + " (" + causes.map(\.description).joined(separator: "; ") + ")"
    }

    public var isNotFound: Bool { kind == .notFound }
    public var isConflict: Bool { kind == .conflict }
    public var isGone: Bool { kind == .expired }
    public var isUnauthorized: Bool { kind == .unauthorized }
    public var isForbidden: Bool { kind == .forbidden }

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
            causes = (status["details"]?["causes"]?.arrayValue ?? []).map {
                Cause(reason: $0["reason"]?.stringValue ?? "", message: $0["message"]?.stringValue ?? "", field: $0["field"]?.stringValue ?? "")
            }
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
