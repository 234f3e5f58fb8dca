//! `fastpath`: the appliance binary. testpmd style:
//!
//!     fastpath [EAL options] -- --config FILE [-i] [-a] [--cmdline-file FILE] [--idle-exit MS]
//!
//! The main lcore is the control core (configuration, CLI, control socket); every other
//! EAL lcore runs a worker. Exit status: 0 clean, 1 runtime error, 2 bad usage or config,
//! 3 mbufs leaked.

use anyhow::Context;
use clap::Parser;
use control::commands::Control;
use control::ctl::{self, Request};
use control::event_loop::{self, Stop};
use control::{compile, dataplane, repl, router, show};
use fastpath::dpdk::eal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "fastpath",
    about = "DPDK IPv4 forwarding appliance",
    override_usage = "fastpath [EAL options] -- --config FILE [-i] [-a] [--cmdline-file FILE] [--idle-exit MS]\n       fastpath --check CONFIG"
)]
struct Opts {
    /// YAML configuration (ports, addresses, neighbours, routes, route files, settings).
    #[arg(long, value_name = "FILE", required_unless_present = "check")]
    config: Option<PathBuf>,
    /// Only check CONFIG (route files included) without starting EAL: one line of
    /// summary, exit status 0 if it is good, 2 if not.
    #[arg(long, value_name = "CONFIG", conflicts_with = "config")]
    check: Option<PathBuf>,
    /// Interactive `fastpath>` prompt.
    #[arg(short, long)]
    interactive: bool,
    /// Start forwarding at once: the default, accepted for testpmd's `-a`/`--auto-start`
    /// (`stop` and `start` at the prompt stop and resume it).
    #[arg(short = 'a', long)]
    auto_start: bool,
    /// Run the commands in FILE (one per line) once forwarding has started.
    #[arg(long, value_name = "FILE")]
    cmdline_file: Option<PathBuf>,
    /// Exit after no port has received anything for MS milliseconds.
    #[arg(long, value_name = "MS")]
    idle_exit: Option<u64>,
    /// RX queues of every port, as testpmd's `--rxq` (overrides the ports'
    /// `rx_queues`); 1..=64. TX queues are one per worker lcore plus the control core's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    rxq: Option<u16>,
    /// Serve Prometheus metrics on ADDR (`GET /metrics`), as `settings.metrics_listen`.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    /// Control socket for `fastpath-ctl`.
    #[arg(long, value_name = "PATH", default_value = "/run/fastpath.sock")]
    ctl_socket: PathBuf,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // EAL options before `--`, ours after (without `--`, everything is ours).
    let (eal_args, app_args) = match args.iter().position(|a| a == "--") {
        Some(i) => (args[..i].to_vec(), args[i + 1..].to_vec()),
        None => (args[..1].to_vec(), args[1..].to_vec()),
    };
    let opts = match Opts::try_parse_from(std::iter::once("fastpath".to_owned()).chain(app_args)) {
        Ok(o) => o,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // Every configuration error is reported before EAL starts or a port is touched.
    let path = opts
        .check
        .clone()
        .or(opts.config.clone())
        .unwrap_or_default();
    let mut cfg = match conf::Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(n) = opts.rxq {
        for p in &mut cfg.ports {
            p.rx_queues = Some(n);
        }
    }
    let t = Instant::now();
    let (router, report) = match compile::compile(&cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let snap = &router.work;
    if opts.check.is_some() {
        println!(
            "fastpath: {}: ok: {} ports, {} static routes, {} routes from {} route file(s), {} FIB prefixes in {} table(s), {} rules, {} next hops",
            cfg.path.display(),
            cfg.ports.len(),
            report.static_routes,
            report.file_routes,
            cfg.route_files.len(),
            snap.fib.len(),
            snap.fib.table_ids().count(),
            cfg.rules.len() + conf::default_rules().len(),
            snap.nexthops.len()
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "fastpath: {}: {} ports, {} static routes, {} routes from {} route file(s) in {:.2} s ({} shadowed)",
        cfg.path.display(),
        cfg.ports.len(),
        report.static_routes,
        report.file_routes,
        cfg.route_files.len(),
        report.file_time.as_secs_f64(),
        report.shadowed
    );
    println!(
        "fastpath: FIB {} prefixes, {} next hops, {:.1} MiB; FIB built in {:.2} s, all loaded in {:.2} s; process {}",
        snap.fib.len(),
        snap.nexthops.len(),
        snap.fib.memory_bytes() as f64 / (1 << 20) as f64,
        report.build_time.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        show::memory_status()
    );
    match run(eal_args, opts, cfg, router) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(dataplane::exit_code(&e))
        }
    }
}

fn run(
    eal_args: Vec<String>,
    opts: Opts,
    cfg: conf::Config,
    mut router: router::Router,
) -> anyhow::Result<u8> {
    let listener = ctl::bind(&opts.ctl_socket).map_err(anyhow::Error::msg)?;
    let _guard = ctl::SocketGuard(opts.ctl_socket.clone());
    // SIGTERM stops the router; so does SIGINT, except at the interactive prompt, where
    // Ctrl-C clears the line or interrupts a listing, as in testpmd.
    let term = Arc::new(AtomicBool::new(false));
    let interrupt = Arc::new(AtomicBool::new(false));
    let on_sigint = if opts.interactive { &interrupt } else { &term };
    signal_hook::flag::register(signal_hook::consts::SIGINT, on_sigint.clone())
        .context("installing signal handlers")?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())
        .context("installing signal handlers")?;
    // Bound before anything starts, so that a port in use is an error before forwarding.
    let metrics = match opts.metrics.or(cfg.settings.metrics_listen) {
        Some(addr) => Some((addr, control::http::bind(addr).map_err(anyhow::Error::msg)?)),
        None => None,
    };
    eal::init(&eal_args)?;
    // dpdk-dumpcap can attach when EAL has a shared config; with --no-shconf it cannot
    // (use `capture start`), and this fails harmlessly.
    let _ = fastpath::dpdk::pcapng::pdump_init();
    let dp = dataplane::start(&cfg, &mut router)?;
    for (i, (p, st)) in cfg.ports.iter().zip(&dp.ports).enumerate() {
        let iface = &router.work.ifaces[i];
        let addrs: Vec<String> = iface
            .addrs
            .iter()
            .map(|a| format!("{}/{}", a.addr, a.prefix_len))
            .collect();
        println!(
            "Port {i} ({}): {} {} mtu {} {} ({} rx / {} tx queues)",
            p.name,
            st.info.name,
            iface.mac,
            iface.mtu,
            addrs.join(" "),
            st.rx_queues,
            st.tx_queues
        );
    }
    for w in &dp.workers {
        let q: Vec<String> =
            w.rx.iter()
                .map(|q| format!("{}/q{}", cfg.ports[q.iface as usize].name, q.queue))
                .collect();
        println!(
            "lcore {}: polls {} (tx queue {})",
            w.lcore,
            q.join(" "),
            w.tx_queue
        );
    }
    let mut control = Control::new(cfg, dp, router)?;

    let (tx, rx) = mpsc::channel::<Request>();
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("ctl-socket".into())
            .spawn(move || ctl::serve(listener, tx))?;
    }
    if let Some(file) = &opts.cmdline_file {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        println!("Read CLI commands from {}", file.display());
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            println!("fastpath> {line}");
            let stop = || term.load(Ordering::Relaxed);
            match control.run(line, stop, |text| print!("{text}")) {
                Some(false) => {}
                Some(true) => return Ok(shutdown(control)),
                None => {
                    println!("\nSignal received, stopping.");
                    return Ok(shutdown(control));
                }
            }
        }
    }
    if opts.interactive {
        let tx = tx.clone();
        let ports = control.routing.cfg.ports.iter().map(|p| p.name.clone());
        let ports = ports.collect();
        std::thread::Builder::new()
            .name("repl".into())
            .spawn(move || repl::run(tx, interrupt, ports))?;
    }
    if let Err(e) = control::telemetry::register(tx.clone()) {
        eprintln!("warning: DPDK telemetry: {e}");
    }
    if let Some((addr, server)) = metrics {
        control::http::serve_on(server, tx.clone()).map_err(anyhow::Error::msg)?;
        println!("Metrics on http://{addr}/metrics");
    }
    drop(tx);

    let idle = opts.idle_exit.map(Duration::from_millis);
    match event_loop::run(&mut control, &rx, &term, idle) {
        Stop::Quit => {}
        Stop::Signal => println!("\nSignal received, stopping."),
        Stop::Idle(idle) => println!(
            "\nNo packets received for {} ms, stopping.",
            idle.as_millis()
        ),
    }
    Ok(shutdown(control))
}

/// Stops workers and ports, prints the final counters, closes the ports and checks that
/// every mbuf came back to the pool.
fn shutdown(mut control: Control) -> u8 {
    if let Some(msg) = control.capture_stop() {
        print!("{msg}");
    }
    control.dp.stop();
    control.slow_shutdown();
    for p in &control.dp.ports {
        println!("Stopping port {}...", p.info.port_id);
    }
    for line in ["show port stats all", "show fwd stats"] {
        control.run(line, || false, |text| print!("{text}"));
    }
    let (in_use, size) = control.dp.close();
    println!("mbufs in use after shutdown: {in_use} of {size}");
    eal::cleanup();
    if in_use != 0 {
        eprintln!("error: mbuf leak: {in_use} mbufs not returned to the pool");
        return 3;
    }
    println!("Bye.");
    0
}
