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

    static func invalid(_ def: ResourceDef, _ name: String, field: String, _ detail: String) -> StatusError {
        var d = details(def, name: name)
        d["kind"] = .string(def.kind)
        d["causes"] = [["reason": "FieldValueInvalid", "message": .string(detail), "field": .string(field)]]
        return StatusError(code: 422, reason: "Invalid",
                           message: "\(def.kind) \"\(name)\" is invalid: \(field): \(detail)", details: d)
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
