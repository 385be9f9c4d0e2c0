import YAML

/// A failed request, rendered as a `metav1.Status` body exactly as kube-apiserver does.
struct StatusError: Error, Sendable {
    var code: Int
    var reason: String
    var message: String
    var details: JSONObject?

    var status: JSONValue {
        var o: JSONObject = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure",
            "message": .string(message), "reason": .string(reason),
        ]
        if let details { o["details"] = .object(details) }
        o["code"] = .int(Int64(code))
        return .object(o)
    }

    static func details(_ def: ResourceDef?, name: String?) -> JSONObject {
        var d = JSONObject()
        if let name, !name.isEmpty { d["name"] = .string(name) }
        if let def {
            if !def.group.isEmpty { d["group"] = .string(def.group) }
            d["kind"] = .string(def.plural)
        }
        return d
    }

    static func notFound(_ def: ResourceDef, _ name: String) -> StatusError {
        StatusError(code: 404, reason: "NotFound", message: "\(def.qualifiedName) \"\(name)\" not found",
                    details: details(def, name: name))
    }

    static func namespaceNotFound(_ ns: String) -> StatusError {
        StatusError(code: 404, reason: "NotFound", message: "namespaces \"\(ns)\" not found",
                     details: ["name": .string(ns), "kind": "namespaces"])
    }

    static func alreadyExists(_ def: ResourceDef, _ name: String) -> StatusError {
        StatusError(code: 409, reason: "AlreadyExists", message: "\(def.qualifiedName) \"\(name)\" already exists",
                    details: details(def, name: name))
    }

    static func conflict(_ def: ResourceDef, _ name: String, _ why: String =
        "the object has been modified; please apply your changes to the latest version and try again") -> StatusError {
        StatusError(code: 409, reason: "Conflict",
                    message: "Operation cannot be fulfilled on \(def.qualifiedName) \"\(name)\": \(why)",
                    details: details(def, name: name))
    }

    static func badRequest(_ message: String) -> StatusError {
        StatusError(code: 400, reason: "BadRequest", message: message, details: nil)
    }

    /// 422 Invalid as `errors.NewInvalid` builds it: `Kind.group "name" is invalid: <aggregate>`, one cause per error.
    static func invalid(kind: String, group: String, _ name: String, _ errors: [FieldError]) -> StatusError {
        var d = JSONObject()
        if !name.isEmpty { d["name"] = .string(name) }
        if !group.isEmpty { d["group"] = .string(group) }
        d["kind"] = .string(kind)
        d["causes"] = .array(errors.map(\.cause))
        let qualified = group.isEmpty ? kind : "\(kind).\(group)"
        let message = errors.isEmpty ? "\(qualified) \(GoFormat.quote(name)) is invalid"
            : "\(qualified) \(GoFormat.quote(name)) is invalid: \(FieldError.aggregate(errors))"
        return StatusError(code: 422, reason: "Invalid", message: message, details: d)
    }

    static func invalid(_ def: ResourceDef, _ name: String, _ errors: [FieldError]) -> StatusError {
        invalid(kind: def.kind, group: def.group, name, errors)
    }

    /// 413 for a request body over kube-apiserver's `--max-request-bytes`-derived limit (3 MiB by default).
    static func requestEntityTooLarge(limit: Int) -> StatusError {
        StatusError(code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is \(limit)", details: nil)
    }

    static func expired(_ message: String) -> StatusError {
        StatusError(code: 410, reason: "Expired", message: message, details: nil)
    }

    static let pathNotFound = StatusError(code: 404, reason: "NotFound",
                                          message: "the server could not find the requested resource",
                                          details: JSONObject())

    static func methodNotAllowed(_ method: String) -> StatusError {
        StatusError(code: 405, reason: "MethodNotAllowed",
                    message: "the server does not allow this method on the requested resource", details: JSONObject())
    }

    /// 415 for a patch type the resource does not accept (k8s.io/apiserver negotiation
    /// `NewUnsupportedMediaTypeError`): custom resources take no strategic merge patch.
    static func unsupportedPatchType(accepted: [String]) -> StatusError {
        StatusError(code: 415, reason: "UnsupportedMediaType",
                    message: "the body of the request was in an unknown format - accepted media types include: \(accepted.joined(separator: ", "))",
                    details: nil)
    }

    static func unsupportedMediaType(_ type: String) -> StatusError {
        StatusError(code: 415, reason: "UnsupportedMediaType",
                    message: "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json",
                    details: nil)
    }
}

/// A Success status, as DELETE returns for most built-in kinds.
func successStatus(_ def: ResourceDef, name: String, uid: String?) -> JSONValue {
    var d = StatusError.details(def, name: name)
    if let uid { d["uid"] = .string(uid) }
    return ["kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Success",
            "details": .object(d)]
}
