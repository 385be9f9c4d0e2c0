/// Which performance semantics a simulation uses (the scenario's top-level `performanceModel:`).
///
/// - `native` (the default): the project's own model. Prefill iterations cost `prefillTime(_:)` of the batch's
///   composition (base by batch tokens + attention × Σ prompt² + a per-prompt cost); decode steps cost
///   `decodeTime(batchSize:contextTokens:)` (the profiled token time by batch size at the table's common prompt
///   size, times a context factor at the batch's mean context per request), KV transfers run at the cluster's
///   `bandwidth` by locality, TBT is per gap between output tokens ((completion − first token) ÷ (tokens − 1))
///   and trace sizes are drawn as joint (prompt, output) pairs.
/// - `splitwiseCompat`: splitwise-sim's semantics, to cross-check against it request for request:
///   (a) a prefill iteration costs splitwise-sim's prompt-time predictor (median `prompt_time` over batch
///   tokens, `referencePrefillTime`) and a decode step its token-time predictor (median `token_time` over
///   `prompt_size × batch_size`) evaluated at the number of requests in the batch, so below 128 requests a
///   bloom-176b step is a flat ~35 ms whatever the context; (b) a KV transfer takes bytes ÷ 200 GiB/s whatever the locality and
///   however many run at once; (c) TBT is (completion − first token) ÷ output tokens (every output token,
///   KV transfer and waiting included); (d) `sizes.fromTrace` draws prompt and output sizes independently.
///   Needs the profiled table (a splitwise-sim CSV) among the profiles: only it carries the token-time
///   predictor.
public enum PerformanceModelMode: String, Codable, Sendable, Hashable {
    case native
    case splitwiseCompat
}

/// Constants of splitwise-sim's semantics (`performanceModel: splitwiseCompat`).
public enum SplitwiseCompat {
    /// splitwise-sim's `MixedPoolScheduler.transfer_bandwidth`: 200 GiB/s per KV transfer (a `DummyLink`: no
    /// contention, no topology).
    public static let transferBytesPerSecond = 200.0 * 1024 * 1024 * 1024
}
