import Dispatch
import Foundation
import Synchronization

/// Unix signals as an async sequence, delivered without a MainActor-isolated handler.
///
/// The handlers are `@Sendable` closures on a global queue (a closure written in `main.swift`
/// would be MainActor-isolated and trap when Dispatch calls it); the signals' default actions are
/// disabled while the sequence lives. Iteration ends when the consuming task is cancelled.
public struct UnixSignals: AsyncSequence, Sendable {
    public typealias Element = Int32

    private let stream: AsyncStream<Int32>

    /// - Parameter signals: e.g. `[SIGTERM, SIGINT, SIGHUP]`.
    public init(_ signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let sources = signals.map { signo -> any DispatchSourceSignal in
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { continuation.yield(signo) }
            source.resume()
            return source
        }
        let box = SourcesBox(sources)
        continuation.onTermination = { _ in box.cancel() }
        self.stream = stream
    }

    public func makeAsyncIterator() -> AsyncStream<Int32>.Iterator { stream.makeAsyncIterator() }

    /// The next signal, or `nil` once the waiting task is cancelled.
    public func next() async -> Int32? {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next()
    }
}

/// Keeps the dispatch sources alive until the stream ends.
private final class SourcesBox: Sendable {
    // Set once in `init`; DispatchSource is thread-safe, and cancel() may be called twice.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]
    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
    func cancel() { for source in sources { source.cancel() } }
}
