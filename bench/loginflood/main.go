// Command loginflood measures how a login flood affects pages that need no
// password: it keeps -n wrong-password logins in flight against -url for
// -d, and meanwhile times GET / one request at a time. It prints the
// latency percentiles of GET / and the answers the flood got.
//
//	go run ./bench/loginflood -url http://127.0.0.1:18090 -n 200 -d 10s
//
// bench/loginflood.sh starts a server from cmd/web for it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18090", "server to flood")
	n := flag.Int("n", 200, "wrong-password logins kept in flight")
	d := flag.Duration("d", 10*time.Second, "how long to flood")
	user := flag.String("user", "alice", "user name the logins try")
	flag.Parse()
	if err := run(*base, *user, *n, *d); err != nil {
		fmt.Fprintln(os.Stderr, "loginflood:", err)
		os.Exit(1)
	}
}

func run(base, user string, n int, d time.Duration) error {
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: n + 1},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       time.Minute,
	}
	quiet, err := probe(client, base, 2*time.Second)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for j := 0; ctx.Err() == nil; j++ {
				form := url.Values{"httpd_username": {user}, "httpd_password": {fmt.Sprintf("wrong %d %d", i, j)}}
				res, err := client.PostForm(base+"/login", form)
				code := -1
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					code = res.StatusCode
				}
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			}
		})
	}
	flooded, err := probe(client, base, d-time.Second)
	cancel()
	wg.Wait()
	if err != nil {
		return err
	}
	report("GET / alone", quiet)
	report(fmt.Sprintf("GET / during %d concurrent wrong logins", n), flooded)
	fmt.Printf("login answers (status: count, -1 = transport error): %v\n", statuses)
	return nil
}

// probe times GET / one request at a time for d.
func probe(client *http.Client, base string, d time.Duration) ([]time.Duration, error) {
	var out []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		start := time.Now()
		res, err := client.Get(base + "/")
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET /: %s", res.Status)
		}
		out = append(out, time.Since(start))
		time.Sleep(10 * time.Millisecond)
	}
	return out, nil
}

func report(what string, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("%s: %d requests, p50 %v, p99 %v, max %v\n", what, len(lat), q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
}
