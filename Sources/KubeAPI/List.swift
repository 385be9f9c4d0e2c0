/// metav1 `ListMeta`.
public struct ListMeta: Codable, Sendable, Hashable {
    public var resourceVersion: String?
    /// The token for the next page; empty or absent on the last one.
    public var `continue`: String?
    public var remainingItemCount: Int64?

    public init(resourceVersion: String? = nil, continue: String? = nil, remainingItemCount: Int64? = nil) {
        self.resourceVersion = resourceVersion
        self.continue = `continue`
        self.remainingItemCount = remainingItemCount
    }
}

/// Any `<Kind>List` (`PodList`, `NodeList`, ...). A missing or null `items` decodes as empty.
public struct List<Item: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var apiVersion: String?
    /// `<Kind>List`, e.g. `PodList`.
    public var kind: String?
    public var metadata: ListMeta?
    public var items: [Item]

    public init(items: [Item] = [], metadata: ListMeta? = nil, apiVersion: String? = nil, kind: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.items = items
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ListMeta.self, forKey: .metadata)
        items = try c.decodeIfPresent([Item].self, forKey: .items) ?? []
    }

    /// The `continue` token when another page follows.
    public var continueToken: String? {
        guard let token = metadata?.continue, !token.isEmpty else { return nil }
        return token
    }
}
