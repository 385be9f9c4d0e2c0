import Foundation

enum Paths {
    /// The repository root: three levels above this file, with symlinks resolved (the dev package links here).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `../shared/data` next to the repository; the data is read in place, never copied.
    static func sharedData(_ name: String) -> String {
        repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/\(name)").path
    }

    static func repo(_ relative: String) -> String { repositoryRoot.appendingPathComponent(relative).path }
}
