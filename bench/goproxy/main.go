// goproxy: the Go io.Copy TCP proxy that bench/run.sh compares our forwarder with (target "go").
//
// It is the forwarder style of the project this one replaced: accept, dial the backend, and two
// goroutines doing io.Copy, one each way. On Linux, io.Copy from one *net.TCPConn to another goes
// through (*TCPConn).ReadFrom, which uses splice(2) via a pipe, so this is also "a splice proxy",
// scheduled by the Go runtime's netpoller instead of an event loop of our own.
//
// When one direction reaches EOF it half-closes the other side (CloseWrite), so a FIN is passed on
// and the other direction may go on; the connection pair is closed once both directions are done.
//
// Standard library only, so it builds offline: go build -o goproxy . (see bench/run.sh).
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18300", "address to accept on")
	backend := flag.String("backend", "127.0.0.1:18080", "address to forward to")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen %s: %v", *listen, err)
	}
	log.Printf("forwarding %s -> %s (io.Copy, GOMAXPROCS default)", *listen, *backend)

	// TERM/INT end the process at once: the benchmark stops the proxy after each test and does
	// not need open connections drained.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		ln.Close()
		os.Exit(0)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			// EMFILE and the like: log and keep accepting rather than exit mid-benchmark.
			log.Printf("accept: %v", err)
			continue
		}
		go serve(c.(*net.TCPConn), *backend)
	}
}

func serve(client *net.TCPConn, backend string) {
	b, err := net.Dial("tcp", backend)
	if err != nil {
		log.Printf("dial %s: %v", backend, err)
		client.Close()
		return
	}
	server := b.(*net.TCPConn)
	done := make(chan struct{}, 2)
	go pipe(server, client, done)
	go pipe(client, server, done)
	<-done
	<-done
	client.Close()
	server.Close()
}

// pipe copies src to dst until EOF or an error, then passes the end on as a half-close.
func pipe(dst, src *net.TCPConn, done chan<- struct{}) {
	if _, err := io.Copy(dst, src); err != nil {
		// A reset on one side: end both directions now, as there is no FIN to pass on.
		dst.Close()
		src.Close()
	} else {
		dst.CloseWrite()
	}
	done <- struct{}{}
}
