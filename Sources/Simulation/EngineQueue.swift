/// A min-heap of timed events keyed by `(time, sequence)`: events at the same simulated time pop in the
/// order they were scheduled, so a run is a pure function of its inputs (no hash or address order).
public struct EventQueue<Payload>: Sendable where Payload: Sendable {
    public struct Entry: Sendable {
        public var time: Double
        public var sequence: UInt64
        public var payload: Payload
        @inline(__always) func precedes(_ other: Entry) -> Bool {
            time < other.time || (time == other.time && sequence < other.sequence)
        }
    }

    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    /// The time of the next event, if any.
    public var nextTime: Double? { heap.first?.time }

    /// Schedules `payload` at `time` (seconds of simulated time).
    public mutating func push(_ payload: Payload, at time: Double) {
        let entry = Entry(time: time, sequence: nextSequence, payload: payload)
        nextSequence &+= 1
        heap.append(entry)
        // Sift up with a hole (parents move down, the entry is written once); keys are unique, so the pop order
        // is the same whatever the layout.
        heap.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard entry.precedes(h[parent]) else { break }
                h[i] = h[parent]
                i = parent
            }
            h[i] = entry
        }
    }

    /// Removes and returns the earliest event.
    public mutating func pop() -> Entry? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap.withUnsafeMutableBufferPointer { h in
            let n = h.count
            var i = 0
            while true {
                let l = 2 * i + 1
                guard l < n else { break }
                let r = l + 1
                let c = r < n && h[r].precedes(h[l]) ? r : l
                guard h[c].precedes(last) else { break }
                h[i] = h[c]
                i = c
            }
            h[i] = last
        }
        return top
    }
}

/// A stream over an in-memory list of requests (tests, small scenarios). Sorted by arrival on creation.
public struct RequestListStream: RequestStream, Sendable {
    private var requests: [Request]
    private var index = 0
    public init(_ requests: [Request]) { self.requests = requests.sorted { ($0.arrival, $0.id) < ($1.arrival, $1.id) } }
    public mutating func next() -> Request? {
        guard index < requests.count else { return nil }
        defer { index += 1 }
        return requests[index]
    }
}
