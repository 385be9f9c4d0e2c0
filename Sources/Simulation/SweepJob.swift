import Foundation
import YAML

/// The Kubernetes form of a sweep: a ConfigMap holding the sweep file and an Indexed Job (batch/v1,
/// `completionMode: Indexed`) with one completion per grid cell. Pod K runs
/// `heteroscale sweep SWEEP --index K --out OUTPUT/results/NAME` (K from `JOB_COMPLETION_INDEX`) and writes
/// its cell's files on a shared volume; `heteroscale sweep --merge OUTPUT/results/NAME` then builds
/// `results_summary.csv`.
///
/// Volumes: the claim `claim` is mounted at `outputPath`; the inputs the sweep names (its scenario, profiles,
/// manifests and traces, `Sweep.inputFiles`) are read from `outputPath/inputs`, laid out as they are
/// beside the sweep file locally, and the sweep file itself is mounted there from the ConfigMap.
public struct SweepJobOptions: Sendable, Hashable {
    public var image = "heteroscale:0.1.0-dev"
    /// Where the shared volume is mounted in each pod.
    public var outputPath = "/sweep"
    /// The PersistentVolumeClaim of the shared volume (ReadWriteMany when pods land on several nodes).
    public var claim = "heteroscale-sweep"
    /// Pods at once (default: min(cells, 16)).
    public var parallelism: Int?
    public var namespace: String?
    public init() {}
}

extension SweepRunner {
    /// A DNS-1123 label from a sweep name (lower case, `-` for anything else, at most 40 characters).
    static func dnsName(_ name: String) -> String {
        var s = String(name.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
        while s.contains("--") { s = s.replacingOccurrences(of: "--", with: "-") }
        s = String(s.trimmingCharacters(in: CharacterSet(charactersIn: "-")).prefix(40)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return s.isEmpty ? "sweep" : s
    }

    /// The ConfigMap and the Indexed Job as a two-document YAML stream, with a comment listing the input files
    /// to copy onto the volume. `sweepText` is the sweep file's content; `sweepFile` its file name.
    public static func jobManifest(_ sweep: Sweep, sweepText: String, sweepFile: String, options: SweepJobOptions) -> String {
        let name = dnsName(sweep.name) + "-sweep"
        let results = options.outputPath + "/results/" + dnsName(sweep.name)
        let file = (sweepFile as NSString).lastPathComponent
        // The local layout, from the deepest folder holding the sweep file and every input, is kept under inputs/.
        let sweepDirectory = URL(fileURLWithPath: sweep.directory).standardized.path
        var seen = Set<String>()
        let locals = sweep.inputFiles.map { WorkloadSpec.resolve($0, sweepDirectory) }.filter { seen.insert($0).inserted }
        var root = sweepDirectory.split(separator: "/").map(String.init)
        for path in locals {
            let parts = path.split(separator: "/").dropLast().map(String.init)
            var n = 0
            while n < min(root.count, parts.count), root[n] == parts[n] { n += 1 }
            root = Array(root.prefix(n))
        }
        func under(_ path: String) -> String { path.split(separator: "/").dropFirst(root.count).joined(separator: "/") }
        let sub = under(sweepDirectory)
        let inputs = options.outputPath + "/inputs"
        let workingDir = sub.isEmpty ? inputs : inputs + "/" + sub
        var meta: JSONObject = ["name": .string(name), "labels": ["app.kubernetes.io/name": "heteroscale-sweep", "heteroscale.io/sweep": .string(name)]]
        if let ns = options.namespace { meta["namespace"] = .string(ns) }
        let configMap: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": .object(meta), "data": [.init(stringLiteral: file): .string(sweepText)]]
        let container: JSONValue = [
            "name": "cell",
            "image": .string(options.image),
            "workingDir": .string(workingDir),
            "args": ["sweep", .string(file), "--index", "$(JOB_COMPLETION_INDEX)", "--out", .string(results)],
            // The Job controller sets this variable too; declaring it makes `$(JOB_COMPLETION_INDEX)` in args
            // expand on any version (expansion reads the container's own env list).
            "env": [["name": "JOB_COMPLETION_INDEX", "valueFrom": ["fieldRef": ["fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"]]]],
            "resources": ["requests": ["cpu": "1", "memory": "512Mi"], "limits": ["memory": "2Gi"]],
            "volumeMounts": [
                ["name": "data", "mountPath": .string(options.outputPath)],
                ["name": "sweep", "mountPath": .string(workingDir + "/" + file), "subPath": .string(file), "readOnly": true],
            ],
        ]
        var jobMeta = meta
        jobMeta["annotations"] = ["heteroscale.io/sweep-inputs": .string(locals.map { "inputs/" + under($0) }.joined(separator: ",")),
                                  "heteroscale.io/sweep-cell-order": "seed, trace, rate, policy (policy fastest)"]
        let job: JSONValue = [
            "apiVersion": "batch/v1", "kind": "Job", "metadata": .object(jobMeta),
            "spec": [
                "completionMode": "Indexed",
                "completions": .int(Int64(sweep.cells.count)),
                "parallelism": .int(Int64(options.parallelism ?? min(sweep.cells.count, 16))),
                "backoffLimit": .int(Int64(max(6, sweep.cells.count / 10))),
                "template": [
                    "metadata": ["labels": ["app.kubernetes.io/name": "heteroscale-sweep", "heteroscale.io/sweep": .string(name)]],
                    "spec": [
                        "restartPolicy": "Never",
                        "containers": [container],
                        "volumes": [
                            ["name": "data", "persistentVolumeClaim": ["claimName": .string(options.claim)]],
                            ["name": "sweep", "configMap": ["name": .string(name)]],
                        ],
                    ],
                ],
            ],
        ]
        var header = "# heteroscale sweep \(sweep.name): \(sweep.cells.count) cells, one per completion index (order: seed, trace, rate, policy).\n"
        header += "# Before applying, copy the inputs onto the claim \(options.claim) (mounted at \(options.outputPath)):\n"
        for path in locals { header += "#   \(path) -> inputs/\(under(path))\n" }
        header += "# Results: \(results)/SEED/TRACE/RATE/POLICY/summary.csv; then `heteroscale sweep --merge \(results)`.\n"
        return header + YAML.dumpAll([configMap, job])
    }
}
