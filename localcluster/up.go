package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

const (
	serviceCIDR = "10.96.0.0/16"
	// serviceIP is the first address of serviceCIDR: the `kubernetes`
	// Service's cluster IP, which the serving certificate must name.
	serviceIP = "10.96.0.1"
	podCIDR   = "10.244.0.0/16"
)

type upOptions struct {
	dir            string
	nodes          int
	kwokPath       string
	kwokStagesPath string
	exitOnStdinEOF bool
	startTimeout   time.Duration
}

// up starts a control plane, prints one ready line, and runs until SIGINT,
// SIGTERM, the end of standard input (with -exit-on-stdin-eof) or the
// unexpected exit of a component. It then stops everything in reverse order
// and removes what it created.
func up(args []string) int {
	opts, err := parseUpFlags(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-signals
		logf("received %s, stopping", sig)
		cancel()
	}()
	if opts.exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			logf("standard input closed, stopping")
			cancel()
		}()
	}

	c := &cluster{opts: opts}
	defer c.teardown()
	if err := c.start(ctx); err != nil {
		if ctx.Err() != nil {
			return 0
		}
		logf("start failed: %v", err)
		return 1
	}
	logf("ready")
	// The one line on standard output: test harnesses wait for it, and a
	// person can paste it into another shell.
	fmt.Printf("export KUBECONFIG=%s\n", c.kubeconfig)
	if err := c.watch(ctx); err != nil {
		logf("%v", err)
		return 1
	}
	return 0
}

func parseUpFlags(args []string) (upOptions, error) {
	self, err := os.Executable()
	if err != nil {
		return upOptions{}, fmt.Errorf("find own executable: %w", err)
	}
	binDir := filepath.Dir(self)
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	opts := upOptions{}
	fs.StringVar(&opts.dir, "dir", "", "working directory for keys, data and logs; a fresh temporary directory, removed on stop, when empty")
	fs.IntVar(&opts.nodes, "nodes", 2, "number of simulated (kwok) nodes")
	fs.StringVar(&opts.kwokPath, "kwok", filepath.Join(binDir, "kwok"), "path of the kwok binary")
	fs.StringVar(&opts.kwokStagesPath, "kwok-stages", filepath.Join(binDir, "kwok-stages"), "path of the kwok-stages binary")
	fs.BoolVar(&opts.exitOnStdinEOF, "exit-on-stdin-eof", false, "stop when standard input is closed (for test harnesses)")
	fs.DurationVar(&opts.startTimeout, "start-timeout", 3*time.Minute, "how long each component may take to become ready")
	if err := fs.Parse(args); err != nil {
		return upOptions{}, err
	}
	if opts.nodes < 1 {
		return upOptions{}, fmt.Errorf("-nodes must be at least 1, got %d", opts.nodes)
	}
	return opts, nil
}

// cluster is one running control plane; fields are set as components start
// so that teardown stops exactly what was started.
type cluster struct {
	opts       upOptions
	dir        string
	removeDir  bool
	kubeconfig string
	etcd       *embed.Etcd
	children   []*child
}

func (c *cluster) start(ctx context.Context) error {
	if c.opts.dir == "" {
		dir, err := os.MkdirTemp("", "localcluster-")
		if err != nil {
			return fmt.Errorf("create working directory: %w", err)
		}
		c.dir, c.removeDir = dir, true
	} else {
		c.dir = c.opts.dir
		if err := os.MkdirAll(c.dir, 0o700); err != nil {
			return fmt.Errorf("create working directory: %w", err)
		}
	}
	logDir := filepath.Join(c.dir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}

	ports, err := freePorts(5)
	if err != nil {
		return err
	}
	apiPort, etcdClientPort, etcdPeerPort, kcmPort, schedulerPort := ports[0], ports[1], ports[2], ports[3], ports[4]

	keys, err := writePKI(c.dir)
	if err != nil {
		return err
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	if err := writeKubeconfig(c.kubeconfig, server, keys); err != nil {
		return err
	}

	logf("starting etcd")
	c.etcd, err = startEtcd(c.dir, filepath.Join(logDir, "etcd.log"), etcdClientPort, etcdPeerPort)
	if err != nil {
		return err
	}

	logf("starting kube-apiserver on %s", server)
	apiserver, err := c.startComponent(componentAPIServer, apiServerArgs(keys, apiPort, etcdClientPort))
	if err != nil {
		return err
	}
	client, err := newClient(c.kubeconfig)
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, "kube-apiserver to be ready", apiserver, func(ctx context.Context) (bool, error) {
		return apiServerReady(ctx, client)
	}); err != nil {
		return err
	}

	logf("starting kube-controller-manager and kube-scheduler")
	kcm, err := c.startComponent(componentControllerManager, controllerManagerArgs(c.kubeconfig, keys, kcmPort))
	if err != nil {
		return err
	}
	if _, err := c.startComponent(componentScheduler, schedulerArgs(c.kubeconfig, schedulerPort)); err != nil {
		return err
	}

	logf("starting kwok with %d node(s)", c.opts.nodes)
	stages := filepath.Join(c.dir, "kwok-stages.yaml")
	if err := writeKwokStages(c.opts.kwokStagesPath, stages); err != nil {
		return err
	}
	kwok, err := startChild("kwok", c.opts.kwokPath, kwokArgs(c.kubeconfig, stages),
		[]string{"KWOK_WORKDIR=" + filepath.Join(c.dir, "kwok")}, filepath.Join(logDir, "kwok.log"))
	if err != nil {
		return err
	}
	c.children = append(c.children, kwok)
	if err := createNodes(ctx, client, c.opts.nodes); err != nil {
		return err
	}

	if err := c.waitFor(ctx, "the default service account", kcm, func(ctx context.Context) (bool, error) {
		return defaultServiceAccountExists(ctx, client)
	}); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "nodes to be Ready and schedulable", kwok, func(ctx context.Context) (bool, error) {
		return nodesSchedulable(ctx, client, c.opts.nodes)
	}); err != nil {
		return err
	}
	return c.failedChild()
}

// startComponent re-executes this binary as one control-plane component.
func (c *cluster) startComponent(name string, args []string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	ch, err := startChild(name, self, append([]string{name}, args...), nil,
		filepath.Join(c.dir, "logs", name+".log"))
	if err != nil {
		return nil, err
	}
	c.children = append(c.children, ch)
	return ch, nil
}

// waitFor polls check until it reports true, failing early when the component
// that should bring the condition about exits, and after the start timeout.
func (c *cluster) waitFor(ctx context.Context, what string, owner *child, check func(context.Context) (bool, error)) error {
	deadline := time.Now().Add(c.opts.startTimeout)
	var lastErr error
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if done, err := owner.exited(); done {
			return fmt.Errorf("%s exited (%v) while waiting for %s; last log lines:\n%s",
				owner.name, err, what, owner.logTail(30))
		}
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := check(attemptCtx)
		cancel()
		if ok {
			return nil
		}
		lastErr = err
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s (last error: %v); last lines of %s:\n%s",
				c.opts.startTimeout, what, lastErr, owner.logPath, owner.logTail(30))
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// watch blocks until the context ends, or reports the first component that
// exits on its own.
func (c *cluster) watch(ctx context.Context) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-c.etcd.Err():
			return fmt.Errorf("etcd failed: %w", err)
		case <-ticker.C:
			if err := c.failedChild(); err != nil {
				return err
			}
		}
	}
}

func (c *cluster) failedChild() error {
	for _, ch := range c.children {
		if done, err := ch.exited(); done {
			return fmt.Errorf("%s exited unexpectedly (%v); last lines of %s:\n%s",
				ch.name, err, ch.logPath, ch.logTail(30))
		}
	}
	return nil
}

// teardown stops components in the reverse of their start order, then etcd,
// then removes the working directory if this process created it.
func (c *cluster) teardown() {
	for i := len(c.children) - 1; i >= 0; i-- {
		c.children[i].stop(15 * time.Second)
	}
	if c.etcd != nil {
		c.etcd.Close()
	}
	if c.removeDir {
		if err := os.RemoveAll(c.dir); err != nil {
			logf("remove %s: %v", c.dir, err)
		}
	}
	logf("stopped")
}

func apiServerArgs(keys *pki, port, etcdPort int) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + keys.servingCert,
		"--tls-private-key-file=" + keys.servingKey,
		"--client-ca-file=" + keys.caCert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + keys.serviceAccountKey,
		"--service-account-signing-key-file=" + keys.serviceAccountKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		// The lease reconciler would publish 127.0.0.1 as the `kubernetes`
		// Service endpoint, which validation rejects for loopback addresses.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}
}

func controllerManagerArgs(kubeconfig string, keys *pki, port int) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
		"--root-ca-file=" + keys.caCert,
		"--service-account-private-key-file=" + keys.serviceAccountKey,
		"--cluster-signing-cert-file=" + keys.caCert,
		"--cluster-signing-key-file=" + keys.caKey,
		"--kube-api-qps=100",
		"--kube-api-burst=200",
		"--profiling=false",
	}
}

func schedulerArgs(kubeconfig string, port int) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
		"--profiling=false",
	}
}

func kwokArgs(kubeconfig, stages string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--config=" + stages,
		"--manage-all-nodes=true",
		"--cidr=" + podCIDR,
	}
}

// writeKwokStages asks the kwok-stages helper (built from the pinned kwok
// module) for the stage definitions and stores them for kwok's --config.
func writeKwokStages(helper, path string) error {
	out, err := exec.Command(helper).Output()
	if err != nil {
		return fmt.Errorf("run %s: %w", helper, err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// freePorts reserves n distinct loopback ports by binding them all at once,
// then releases them for the components to bind.
func freePorts(n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "localcluster: "+format+"\n", args...)
}
