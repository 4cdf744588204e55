import Foundation
import HTTPServer
import Synchronization
import TestSupport
import Testing

/// The harness itself: it must see a request, a console message and a screenshot when a page
/// makes them, or the package page's "none" would prove nothing.
@Suite("Chromium harness")
struct ChromiumTests {
    @Test func reportsTheRequestsAndConsoleMessagesOfAPage() async throws {
        let chromium = try Chromium.installed()
        let paths = Mutex<[String]>([])
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0, maxBodyBytes: 0)) { request in
            paths.withLock { $0.append(request.path) }
            return .text("not an image\n", status: 404)
        }
        try server.start()
        let port = server.port
        let page = try TemporaryPage(
            html: """
                <!DOCTYPE html><html><head><meta charset="utf-8"></head><body><p>探针</p>
                <img src="http://127.0.0.1:\(port)/x.png">
                <script>console.error("probe-error"); undefinedFunction();</script>
                </body></html>
                """)
        defer { page.remove() }
        let shot = page.directory.appendingPathComponent("shot.png").path
        let load = try await chromium.load(page.url, screenshot: shot)
        await server.stop(draining: .seconds(1))

        #expect(load.requests == ["http://127.0.0.1:\(port)/x.png"])
        #expect(paths.withLock { $0 } == ["/x.png"])
        #expect(load.consoleMessages.count == 2, "\(load.consoleMessages)")
        #expect(load.consoleMessages.first?.hasPrefix("\"probe-error\", source: file://") == true)
        #expect(load.consoleMessages.last?.hasPrefix("\"Uncaught ReferenceError: undefinedFunction") == true)
        let png = try PNGInfo(path: shot)
        #expect(png.width == 375 && png.height == 812)
    }

    @Test func aQuietPageReportsNothingAndDumpsItsDOM() async throws {
        let chromium = try Chromium.installed()
        let page = try TemporaryPage(html: "<!DOCTYPE html><title>t</title><p id=\"x\">静</p>")
        defer { page.remove() }
        let load = try await chromium.load(page.url, dumpDOM: true)
        #expect(load.requests.isEmpty, "\(load.requests)")
        #expect(load.consoleMessages.isEmpty, "\(load.consoleMessages)")
        #expect(load.output.contains("<p id=\"x\">静</p>"))
    }

    @Test func aPNGHeaderIsRead() throws {
        let page = try TemporaryPage(html: "")
        defer { page.remove() }
        let path = page.directory.appendingPathComponent("a.png").path
        // The 8-byte signature, then the IHDR chunk: length 13, "IHDR", width 2, height 3.
        let header: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]
        try Data(header + [0, 0, 0, 2, 0, 0, 0, 3, 8, 6, 0, 0, 0]).write(to: URL(fileURLWithPath: path))
        #expect(try PNGInfo(path: path) == PNGInfo(width: 2, height: 3, byteCount: 29))
        try Data("<html>".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ChromiumError.self) { try PNGInfo(path: path) }
    }
}
