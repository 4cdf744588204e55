import Foundation

/// A file in a fresh temporary directory, removed when the test is done with it.
struct TemporaryFile {
    let directory: URL
    let path: String

    init(name: String, bytes: [UInt8]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("registry-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    init(name: String, text: String) throws {
        try self.init(name: name, bytes: Array(text.utf8))
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
