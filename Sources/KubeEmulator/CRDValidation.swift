import YAML

/// Static validation of an `apiextensions.k8s.io/v1` CustomResourceDefinition, as kube-apiserver does on create
/// and update: apiextensions-apiserver pkg/apis/apiextensions/validation/validation.go
/// (`ValidateCustomResourceDefinition`: names, group, scope, versions, subresources, printer columns, the OpenAPI
/// schema rules, list types, `x-kubernetes-validations` fields) and pkg/apiserver/schema/validation.go
/// (`ValidateStructural`: the structural-schema rules). Paths follow kube-apiserver's internal version: a schema,
/// subresources or printer columns that every version shares are reported under `spec.validation`,
/// `spec.subresources`, `spec.additionalPrinterColumns` (the v1 → internal conversion hoists them).
/// CEL rules are not compiled and their cost is not estimated.
enum CRDValidation {
    static let printerColumnTypes = ["boolean", "date", "integer", "number", "string"]
    static let printerColumnFormats = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"]
    static let openAPITypes = ["array", "boolean", "integer", "number", "object", "string"]

    /// Every error kube-apiserver reports for `crd` (after defaulting of `names.singular` and `names.listKind`).
    static func validate(_ crd: JSONValue) -> [FieldError] {
        var errors: [FieldError] = []
        let spec = crd["spec"] ?? .object([:])
        let group = spec["group"]?.stringValue ?? ""
        let plural = spec["names"]?["plural"]?.stringValue ?? ""

        // ObjectMeta: the name must be a DNS subdomain and <plural>.<group>.
        let name = crd["metadata"]?["name"]?.stringValue ?? ""
        if name.isEmpty {
            errors.append(.required("metadata.name", "name or generateName is required"))
        } else {
            var messages = NameRules.dns1123Subdomain(name)
            if name != "\(plural).\(group)" { messages.append("must be spec.names.plural+\".\"+spec.group") }
            errors += messages.map { .invalid("metadata.name", .string(name), $0) }
        }

        if group.isEmpty {
            errors.append(.required("spec.group"))
        } else if let messages = Optional(NameRules.dns1123Subdomain(group)), !messages.isEmpty {
            errors.append(.invalid("spec.group", .string(group), messages.joined(separator: ",")))
        } else if !group.contains(".") {
            errors.append(.invalid("spec.group", .string(group), "should be a domain with at least one dot"))
        }

        let scope = spec["scope"]?.stringValue ?? ""
        if scope.isEmpty {
            errors.append(.required("spec.scope"))
        } else if scope != "Cluster" && scope != "Namespaced" {
            errors.append(.notSupported("spec.scope", .string(scope), ["Cluster", "Namespaced"]))
        }

        let versions = spec["versions"]?.arrayValue ?? []
        let hoisted = Hoisted(versions)
        for (i, v) in versions.enumerated() where v["schema"]?["openAPIV3Schema"] == nil {
            errors.append(.required("spec.versions[\(i)].schema.openAPIV3Schema", "schemas are required"))
        }
        var storage = 0
        var seen = Set<String>()
        var unique = true
        for (i, v) in versions.enumerated() {
            let path = "spec.versions[\(i)]"
            if v["storage"]?.boolValue == true { storage += 1 }
            let vname = v["name"]?.stringValue ?? ""
            if !seen.insert(vname).inserted { unique = false }
            let labelErrors = NameRules.dns1035Label(vname)
            if !labelErrors.isEmpty { errors.append(.invalid("\(path).name", .string(vname), labelErrors.joined(separator: ","))) }
            let status = (hoisted.subresources ?? v["subresources"])?["status"] != nil
            if !hoisted.schemaShared, let schema = v["schema"]?["openAPIV3Schema"] {
                errors += validateSchema(schema, "\(path).schema.openAPIV3Schema", statusEnabled: status)
            }
            if !hoisted.subresourcesShared, let sub = v["subresources"] {
                errors += validateSubresources(sub, "\(path).subresources")
            }
            if !hoisted.columnsShared {
                for (j, c) in (v["additionalPrinterColumns"]?.arrayValue ?? []).enumerated() {
                    errors += validateColumn(c, "\(path).additionalPrinterColumns[\(j)]")
                }
            }
        }
        if !unique { errors.append(.invalid("spec.versions", .array(versions), "must contain unique version names")) }
        if storage != 1 {
            errors.append(.invalid("spec.versions", versions.isEmpty ? .null : .array(versions),
                                   "must have exactly one version marked as storage version"))
        }

        let names = spec["names"] ?? .object([:])
        for key in ["plural", "singular", "kind", "listKind"] where (names[key]?.stringValue ?? "").isEmpty {
            errors.append(.required("spec.names.\(key)"))
        }
        errors += validateNames(names, "spec.names")

        if hoisted.schemaShared, let schema = hoisted.schema {
            let status = hoisted.subresources?["status"] != nil
                || versions.contains { $0["subresources"]?["status"] != nil }
            errors += validateSchema(schema, "spec.validation.openAPIV3Schema", statusEnabled: status)
        }
        if hoisted.subresourcesShared, let sub = hoisted.subresources {
            errors += validateSubresources(sub, "spec.subresources")
        }
        if hoisted.columnsShared {
            for (j, c) in hoisted.columns.enumerated() { errors += validateColumn(c, "spec.additionalPrinterColumns[\(j)]") }
        }
        if let strategy = spec["conversion"]?["strategy"]?.stringValue, strategy != "None", strategy != "Webhook" {
            errors.append(.notSupported("spec.conversion.strategy", .string(strategy), ["None", "Webhook"]))
        }
        return errors
    }

    /// What the v1 → internal conversion moves to the top level: the fields every version sets identically.
    struct Hoisted {
        var schema: JSONValue?
        var schemaShared = false
        var subresources: JSONValue?
        var subresourcesShared = false
        var columns: [JSONValue] = []
        var columnsShared = false

        init(_ versions: [JSONValue]) {
            guard let first = versions.first else { return }
            if let s = first["schema"], versions.allSatisfy({ $0["schema"] == s }) {
                schema = s["openAPIV3Schema"]
                schemaShared = true
            }
            if let s = first["subresources"], versions.allSatisfy({ $0["subresources"] == s }) {
                subresources = s
                subresourcesShared = true
            }
            if let c = first["additionalPrinterColumns"]?.arrayValue, !c.isEmpty,
               versions.allSatisfy({ $0["additionalPrinterColumns"]?.arrayValue == c }) {
                columns = c
                columnsShared = true
            }
        }
    }

    /// `ValidateCustomResourceDefinitionNames`.
    static func validateNames(_ names: JSONValue, _ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for key in ["plural", "singular"] {
            if let v = names[key]?.stringValue, !v.isEmpty, let e = Optional(NameRules.dns1035Label(v)), !e.isEmpty {
                errors.append(.invalid("\(path).\(key)", .string(v), e.joined(separator: ",")))
            }
        }
        for key in ["kind", "listKind"] {
            if let v = names[key]?.stringValue, !v.isEmpty, let e = Optional(NameRules.dns1035Label(v.lowercased())), !e.isEmpty {
                errors.append(.invalid("\(path).\(key)", .string(v), "may have mixed case, but should otherwise match: " + e.joined(separator: ",")))
            }
        }
        for (i, s) in (names["shortNames"]?.arrayValue ?? []).enumerated() {
            let v = s.stringValue ?? ""
            let e = NameRules.dns1035Label(v)
            if !e.isEmpty { errors.append(.invalid("\(path).shortNames[\(i)]", .string(v), e.joined(separator: ","))) }
        }
        if let kind = names["kind"]?.stringValue, !kind.isEmpty, kind == names["listKind"]?.stringValue {
            errors.append(.invalid("\(path).listKind", .string(kind), "kind and listKind may not be the same"))
        }
        for (i, c) in (names["categories"]?.arrayValue ?? []).enumerated() {
            let v = c.stringValue ?? ""
            let e = NameRules.dns1035Label(v)
            if !e.isEmpty { errors.append(.invalid("\(path).categories[\(i)]", .string(v), e.joined(separator: ","))) }
        }
        return errors
    }

    /// `ValidateCustomResourceDefinitionSubresources`: the scale paths.
    static func validateSubresources(_ sub: JSONValue, _ path: String) -> [FieldError] {
        guard let scale = sub["scale"] else { return [] }
        var errors: [FieldError] = []
        for (key, prefixes, what) in [("specReplicasPath", [".spec."], ".spec"), ("statusReplicasPath", [".status."], ".status")] {
            let field = "\(path).scale.\(key)"
            let value = scale[key]?.stringValue ?? ""
            if value.isEmpty {
                errors.append(.required(field))
            } else if let e = simpleJSONPath(value, field) {
                errors.append(e)
            } else if !prefixes.contains(where: value.hasPrefix) {
                errors.append(.invalid(field, .string(value), "should be a json path under \(what)"))
            }
        }
        if let value = scale["labelSelectorPath"]?.stringValue, !value.isEmpty {
            let field = "\(path).scale.labelSelectorPath"
            if let e = simpleJSONPath(value, field) {
                errors.append(e)
            } else if !value.hasPrefix(".spec.") && !value.hasPrefix(".status.") {
                errors.append(.invalid(field, .string(value), "should be a json path under either .spec or .status"))
            }
        }
        return errors
    }

    static func simpleJSONPath(_ s: String, _ field: String) -> FieldError? {
        if s.isEmpty { return .invalid(field, .string(s), "must not be empty") }
        if !s.hasPrefix(".") { return .invalid(field, .string(s), "must be a simple json path starting with .") }
        return nil
    }

    /// `ValidateCustomResourceColumnDefinition`.
    static func validateColumn(_ c: JSONValue, _ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if (c["name"]?.stringValue ?? "").isEmpty { errors.append(.required("\(path).name")) }
        let type = c["type"]?.stringValue ?? ""
        let typeList = "must be one of \(printerColumnTypes.joined(separator: ","))"
        if type.isEmpty {
            errors.append(.required("\(path).type", typeList))
        } else if !printerColumnTypes.contains(type) {
            errors.append(.invalid("\(path).type", .string(type), typeList))
        }
        if let format = c["format"]?.stringValue, !format.isEmpty, !printerColumnFormats.contains(format) {
            errors.append(.invalid("\(path).format", .string(format), "must be one of \(printerColumnFormats.joined(separator: ","))"))
        }
        let jsonPath = c["jsonPath"]?.stringValue ?? ""
        if jsonPath.isEmpty {
            errors.append(.required("\(path).JSONPath"))
        } else if let e = simpleJSONPath(jsonPath, "\(path).JSONPath") {
            errors.append(e)
        }
        return errors
    }

    // MARK: schema

    /// The OpenAPI rules for every node, then the structural-schema rules (sorted by message, as upstream).
    static func validateSchema(_ schema: JSONValue, _ path: String, statusEnabled: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        if schema["nullable"]?.boolValue == true {
            errors.append(.forbidden("\(path).nullable", "nullable cannot be true at the root"))
        }
        openAPI(schema, path, isRoot: true, insideMeta: false, defaultsForbidden: nil, &errors)
        errors += StructuralSchema.validate(schema, path).sorted { $0.message < $1.message }
        return errors
    }

    /// `ValidateCustomResourceDefinitionOpenAPISchema` for one node and its children.
    private static func openAPI(_ s: JSONValue, _ path: String, isRoot: Bool, insideMeta: Bool, defaultsForbidden: String?,
                                _ errors: inout [FieldError]) {
        let type = s["type"]?.stringValue ?? ""
        if !type.isEmpty && !openAPITypes.contains(type) {
            errors.append(.notSupported("\(path).type", .string(type), openAPITypes))
        }
        if let d = s["default"] {
            if let reason = defaultsForbidden {
                errors.append(.forbidden("\(path).default", "must not be set \(reason)"))
            } else {
                var pruned = d
                if !insideMeta, !SchemaPruningOfDefault.unknownFields(&pruned, schema: s).isEmpty {
                    errors.append(.invalid("\(path).default", d, "must not have unknown fields"))
                }
                errors += SchemaValidation.validateValue(d, schema: s, field: "\(path).default")
            }
        }
        for (key, message) in [("id", "id is not supported"), ("additionalItems", "additionalItems is not supported"),
                               ("patternProperties", "patternProperties is not supported"),
                               ("definitions", "definitions is not supported"), ("dependencies", "dependencies is not supported"),
                               ("$ref", "$ref is not supported")] where s[key] != nil {
            errors.append(.forbidden("\(path).\(key)", message))
        }
        if type == "null" { errors.append(.forbidden("\(path).type", "type cannot be set to null, use nullable as an alternative")) }
        if s["items"]?.arrayValue != nil { errors.append(.forbidden("\(path).items", "items must be a schema object and not an array")) }
        if s["uniqueItems"]?.boolValue == true {
            errors.append(.forbidden("\(path).uniqueItems", "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
        }
        let props = s["properties"]?.objectValue ?? JSONObject()
        if let extra = s["additionalProperties"] {
            if !props.isEmpty && (extra.boolValue == false || extra.objectValue != nil) {
                errors.append(.forbidden("\(path).additionalProperties", "additionalProperties and properties are mutual exclusive"))
            }
            if extra.objectValue != nil {
                openAPI(extra, "\(path).additionalProperties", isRoot: false, insideMeta: insideMeta,
                        defaultsForbidden: insideMeta ? "inside additionalProperties applying to object metadata" : defaultsForbidden, &errors)
            }
        }
        let embedded = s["x-kubernetes-embedded-resource"]?.boolValue == true
        for p in props.sorted(by: { $0.key < $1.key }) {
            let meta = (isRoot || embedded) && ["metadata", "apiVersion", "kind"].contains(p.key)
            openAPI(p.value, "\(path).properties[\(p.key)]", isRoot: false, insideMeta: insideMeta || meta,
                    defaultsForbidden: meta && isRoot ? "in top-level \(p.key)" : defaultsForbidden, &errors)
        }
        if let not = s["not"] { openAPI(not, "\(path).not", isRoot: false, insideMeta: insideMeta, defaultsForbidden: defaultsForbidden, &errors) }
        for key in ["allOf", "oneOf", "anyOf"] {
            for (i, sub) in (s[key]?.arrayValue ?? []).enumerated() {
                openAPI(sub, "\(path).\(key)[\(i)]", isRoot: false, insideMeta: insideMeta, defaultsForbidden: defaultsForbidden, &errors)
            }
        }
        if let items = s["items"], items.objectValue != nil {
            openAPI(items, "\(path).items", isRoot: false, insideMeta: insideMeta, defaultsForbidden: defaultsForbidden, &errors)
        }
        if s["x-kubernetes-preserve-unknown-fields"]?.boolValue == false {
            errors.append(.invalid("\(path).x-kubernetes-preserve-unknown-fields", false, "must be true or undefined"))
        }
        listAndMapTypes(s, path, &errors)
        validations(s, path, &errors)
    }

    /// x-kubernetes-map-type, x-kubernetes-list-type and x-kubernetes-list-map-keys.
    private static func listAndMapTypes(_ s: JSONValue, _ path: String, _ errors: inout [FieldError]) {
        let type = s["type"]?.stringValue ?? ""
        if let mapType = s["x-kubernetes-map-type"]?.stringValue {
            if type != "object" {
                errors.append(type.isEmpty ? .required("\(path).type", "must be object if x-kubernetes-map-type is specified")
                              : .invalid("\(path).type", .string(type), "must be object if x-kubernetes-map-type is specified"))
            }
            if mapType != "atomic" && mapType != "granular" {
                errors.append(.notSupported("\(path).x-kubernetes-map-type", .string(mapType), ["atomic", "granular"]))
            }
        }
        let listType = s["x-kubernetes-list-type"]?.stringValue
        if listType != nil && type != "array" {
            errors.append(type.isEmpty ? .required("\(path).type", "must be array if x-kubernetes-list-type is specified")
                          : .invalid("\(path).type", .string(type), "must be array if x-kubernetes-list-type is specified"))
        }
        if let listType, !["atomic", "set", "map"].contains(listType) {
            errors.append(.notSupported("\(path).x-kubernetes-list-type", .string(listType), ["atomic", "set", "map"]))
        }
        let keys = s["x-kubernetes-list-map-keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if !keys.isEmpty {
            if listType == nil {
                errors.append(.required("\(path).x-kubernetes-list-type", "must be map if x-kubernetes-list-map-keys is non-empty"))
            } else if listType != "map" {
                errors.append(.invalid("\(path).x-kubernetes-list-type", .string(listType!), "must be map if x-kubernetes-list-map-keys is non-empty"))
            }
        }
        guard listType == "map" else { return }
        if keys.isEmpty { errors.append(.required("\(path).x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map")) }
        guard let items = s["items"], items.objectValue != nil else {
            errors.append(.required("\(path).items", "must have a schema if x-kubernetes-list-type is map"))
            return
        }
        let itemType = items["type"]?.stringValue ?? ""
        guard itemType == "object" else {
            errors.append(.invalid("\(path).items.type", .string(itemType), "must be object if parent array's x-kubernetes-list-type is map"))
            return
        }
        let itemProps = items["properties"]?.objectValue ?? JSONObject()
        let required = Set(items["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        var seen = Set<String>()
        let keysValue = JSONValue.array(keys.map { .string($0) })
        for k in keys {
            if let p = itemProps[k] {
                let t = p["type"]?.stringValue ?? ""
                if t == "array" || t == "object" {
                    errors.append(.invalid("\(path).items.properties[\(k)].type", .string(itemType),
                                           "must be a scalar type if parent array's x-kubernetes-list-type is map"))
                }
                if !required.contains(k) && p["default"] == nil {
                    errors.append(.required("\(path).items.properties[\(k)].default",
                                            "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"))
                }
            } else {
                errors.append(.invalid("\(path).x-kubernetes-list-map-keys", keysValue, "entries must all be names of item properties"))
            }
            if !seen.insert(k).inserted {
                errors.append(.invalid("\(path).x-kubernetes-list-map-keys", keysValue, "must not contain duplicate entries"))
            }
        }
    }

    /// The fields of `x-kubernetes-validations` entries (the rules themselves are not compiled).
    private static func validations(_ s: JSONValue, _ path: String, _ errors: inout [FieldError]) {
        for (i, rule) in (s["x-kubernetes-validations"]?.arrayValue ?? []).enumerated() {
            let p = "\(path).x-kubernetes-validations[\(i)]"
            let text = rule["rule"]?.stringValue ?? ""
            let message = rule["message"]?.stringValue ?? ""
            let trimmedRule = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let trimmedMessage = message.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmedRule.isEmpty {
                errors.append(.required("\(p).rule", "rule is not specified"))
            } else if !message.isEmpty && trimmedMessage.isEmpty {
                errors.append(.invalid("\(p).message", .string(message), "message must be non-empty if specified"))
            } else if trimmedMessage.contains(where: \.isNewline) {
                errors.append(.invalid("\(p).message", .string(message), "message must not contain line breaks"))
            } else if trimmedRule.contains(where: \.isNewline) && trimmedMessage.isEmpty {
                errors.append(.required("\(p).message", "message must be specified if rule contains line breaks"))
            }
            if let reason = rule["reason"]?.stringValue,
               !["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"].contains(reason) {
                errors.append(.notSupported("\(p).reason", .string(reason),
                                            ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"]))
            }
            if let fieldPath = rule["fieldPath"]?.stringValue {
                if fieldPath.trimmingCharacters(in: .whitespaces).isEmpty && !fieldPath.isEmpty {
                    errors.append(.invalid("\(p).fieldPath", .string(fieldPath), "fieldPath must be non-empty if specified"))
                } else if fieldPath.contains(where: \.isNewline) {
                    errors.append(.invalid("\(p).fieldPath", .string(fieldPath), "fieldPath must not contain line breaks"))
                } else if !fieldPath.isEmpty && !fieldPathExists(fieldPath, in: s) {
                    errors.append(.invalid("\(p).fieldPath", .string(fieldPath), "fieldPath must be a valid path: does not refer to a valid field"))
                }
            }
        }
    }

    /// Whether a rule's `fieldPath` (`.a.b`, `.list[0].c`, `['key']`) names a field of the schema.
    static func fieldPathExists(_ fieldPath: String, in schema: JSONValue) -> Bool {
        var node = schema
        var rest = Substring(fieldPath)
        while !rest.isEmpty {
            if rest.hasPrefix(".") {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                guard !name.isEmpty else { return false }
                rest = rest.dropFirst(name.count)
                guard let next = node["properties"]?[String(name)] ?? node["additionalProperties"].flatMap({ $0.objectValue != nil ? $0 : nil })
                else { return false }
                node = next
            } else if rest.hasPrefix("['") {
                guard let end = rest.range(of: "']") else { return false }
                let name = String(rest[rest.index(rest.startIndex, offsetBy: 2)..<end.lowerBound])
                rest = rest[end.upperBound...]
                guard let next = node["properties"]?[name] ?? node["additionalProperties"].flatMap({ $0.objectValue != nil ? $0 : nil })
                else { return false }
                node = next
            } else if rest.hasPrefix("[") {
                guard let end = rest.firstIndex(of: "]"), let items = node["items"] else { return false }
                rest = rest[rest.index(after: end)...]
                node = items
            } else {
                return false
            }
        }
        return true
    }
}

/// Pruning of a schema's `default` value (a default must not hold fields the schema prunes).
enum SchemaPruningOfDefault {
    static func unknownFields(_ value: inout JSONValue, schema: JSONValue) -> [String] {
        guard value.objectValue != nil || value.arrayValue != nil else { return [] }
        var wrapper: JSONValue = ["x": value]
        let pruned = SchemaPruning.prune(&wrapper, schema: ["type": "object", "properties": ["x": schema]])
        value = wrapper["x"] ?? value
        return pruned
    }
}

extension SchemaValidation {
    /// Field errors for a value at `field` (a schema's `default`), with kube-openapi's messages naming `field`.
    static func validateValue(_ value: JSONValue, schema: JSONValue, field: String) -> [FieldError] {
        var errors: [FieldError] = []
        var wrapperSchema: JSONValue = ["type": "object", "properties": [:]]
        wrapperSchema["properties"]?[field] = schema
        var wrapper: JSONValue = .object([:])
        wrapper[field] = value
        errors = validate(wrapper, schema: wrapperSchema)
        return errors
    }
}
