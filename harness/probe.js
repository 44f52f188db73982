// The portprobe probe. The harness installs it into one extension realm (a
// service worker, a content script's isolated world, an extension page) while
// the realm is paused before its own first line of code, so it sees every port
// the realm's code makes or receives.
//
// It is evaluated as an expression: a function of the name of a CDP binding
// that the harness added to this realm only, and of a secret that starts
// every call of it. It takes the binding off the global object, so the
// realm's own code cannot find it (and code that grabbed it before, in the
// moment between the two, cannot forge events: it lacks the secret, which
// only this closure holds and which no method of the realm's ever sees), and
// returns the
// control object that Go calls with Runtime.callFunctionOn. Nothing else is
// left on the global object.
//
// It observes and never changes who receives a connection: it wraps the
// listeners that the realm's code adds to runtime.onConnect and
// onConnectExternal, and the ports that connect returns, but adds no onConnect
// listener of its own unless Go asks (listen).
(function portprobeInstall(bindingName, secret) {
  'use strict';
  const g = globalThis;
  const send = g[bindingName];
  if (typeof send !== 'function') {
    throw new Error('portprobe: binding ' + bindingName + ' is missing in this realm');
  }
  delete g[bindingName];

  // Keep our own references, so the realm's code cannot change what the probe does.
  const stringify = JSON.stringify;
  const perf = g.performance;
  const timeOrigin = perf.timeOrigin;
  const perfNow = perf.now.bind(perf);
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const WeakMapCtor = WeakMap;
  const MapCtor = Map;
  const StringCtor = String;
  const api = g.chrome;
  const runtime = api && api.runtime;
  // The methods of built-ins the probe uses, called through apply: the
  // realm's code may patch Map.prototype.get, the array iterator or an
  // Object.prototype setter, and must not change what the probe records.
  const mapGet = Map.prototype.get;
  const mapSet = Map.prototype.set;
  const mapDelete = Map.prototype.delete;
  const weakGet = WeakMap.prototype.get;
  const weakSet = WeakMap.prototype.set;
  const mapForEach = Map.prototype.forEach;
  const setForEach = Set.prototype.forEach;
  const strSlice = String.prototype.slice;
  const create = Object.create;
  const hasOwn = Object.hasOwn;
  const mget = (m, k) => apply(mapGet, m, [k]);
  const mset = (m, k, v) => apply(mapSet, m, [k, v]);
  const mdelete = (m, k) => apply(mapDelete, m, [k]);
  const wget = (m, k) => apply(weakGet, m, [k]);
  const wset = (m, k, v) => apply(weakSet, m, [k, v]);
  // put defines a property, so no setter on a prototype sees it, and a key
  // such as "__proto__" is an ordinary key.
  const put = (o, k, v) => defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });

  // enc returns the JSON text of v for the trace, or undefined when v is
  // undefined. Values that JSON would change or drop (NaN, a Map, a Date in a
  // structured-clone message) are written as {"$type": ...} so the trace shows
  // what the realm really had.
  function enc(v) {
    try {
      return encode(v, 0);
    } catch (e) {
      return write({ $type: 'unserializable', error: errText(e) });
    }
  }

  // encode is write(tag(v, depth)) in one pass, without the tagged copy:
  // the JSON data that messages mostly are (plain objects, arrays, strings,
  // finite numbers) is written as it is walked, and only the rest (a Map, a
  // Date, a bigint) goes through tag. It reads the same properties in the
  // same order as tag, so the text is the same, getters and all.
  function encode(v, depth) {
    switch (typeof v) {
      case 'string':
        return stringify(v);
      case 'number':
        return numberIsFinite(v) ? StringCtor(v) : write(tag(v, depth));
      case 'boolean':
        return v ? 'true' : 'false';
      case 'undefined':
        return depth === 0 ? undefined : '{"$type":"undefined"}';
      case 'object':
        break;
      default:
        return write(tag(v, depth));
    }
    if (v === null) return 'null';
    if (depth > 20) return '{"$type":"deep"}';
    let out;
    if (isArray(v)) {
      out = '[';
      for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + encode(v[i], depth + 1);
      return out + ']';
    }
    const proto = getProto(v);
    if (proto !== ObjectProto && proto !== null) return write(tag(v, depth));
    if (hasOwn(v, 'toJSON') && typeof v.toJSON === 'function') return encode(apply(v.toJSON, v, ['']), depth);
    out = '{';
    const ks = keys(v);
    for (let i = 0; i < ks.length; i++) out += (i ? ',' : '') + stringify(ks[i]) + ':' + encode(v[ks[i]], depth + 1);
    return out + '}';
  }

  // write returns the JSON text of a value that tag made: no toJSON, no
  // iterator and no prototype of the realm's is consulted.
  function write(t) {
    switch (typeof t) {
      case 'undefined':
        return undefined;
      case 'string':
        return stringify(t); // a primitive: no toJSON is looked up
      case 'number':
        return StringCtor(t);
      case 'boolean':
        return t ? 'true' : 'false';
    }
    if (t === null) return 'null';
    let out;
    if (isArray(t)) {
      out = '[';
      for (let i = 0; i < t.length; i++) out += (i ? ',' : '') + write(t[i]);
      return out + ']';
    }
    out = '{';
    const ks = keys(t);
    for (let i = 0; i < ks.length; i++) {
      const x = write(t[ks[i]]);
      if (x === undefined) continue;
      out += (out.length > 1 ? ',' : '') + stringify(ks[i]) + ':' + x;
    }
    return out + '}';
  }

  const toStr = Object.prototype.toString;
  const isArray = Array.isArray;
  const getProto = Object.getPrototypeOf;
  const ObjectProto = Object.prototype;
  const keys = Object.keys;
  const numberIsFinite = Number.isFinite;

  function tag(v, depth) {
    switch (typeof v) {
      case 'undefined':
        return depth === 0 ? undefined : { $type: 'undefined' };
      case 'number':
        return numberIsFinite(v) ? v : { $type: 'number', value: StringCtor(v) };
      case 'bigint':
        return { $type: 'bigint', value: StringCtor(v) };
      case 'function':
        return { $type: 'function' };
      case 'symbol':
        return { $type: 'symbol' };
      case 'object':
        break;
      default:
        return v;
    }
    if (v === null) return v;
    if (depth > 20) return { $type: 'deep' };
    if (isArray(v)) {
      const out = [];
      for (let i = 0; i < v.length; i++) put(out, i, tag(v[i], depth + 1));
      return out;
    }
    const proto = getProto(v);
    if (proto === ObjectProto || proto === null) {
      // Only a toJSON of the object's own counts: one on Object.prototype
      // is the realm's code speaking, not the message.
      if (hasOwn(v, 'toJSON') && typeof v.toJSON === 'function') return tag(apply(v.toJSON, v, ['']), depth);
      const out = create(null);
      const ks = keys(v);
      for (let i = 0; i < ks.length; i++) put(out, ks[i], tag(v[ks[i]], depth + 1));
      return out;
    }
    const kind = apply(strSlice, apply(toStr, v, []), [8, -1]);
    switch (kind) {
      case 'Map': {
        const entries = [];
        apply(mapForEach, v, [(x, k) => put(entries, entries.length, [tag(k, depth + 1), tag(x, depth + 1)])]);
        return { $type: 'Map', entries };
      }
      case 'Set': {
        const values = [];
        apply(setForEach, v, [(x) => put(values, values.length, tag(x, depth + 1))]);
        return { $type: 'Set', values };
      }
      case 'Date':
        return { $type: 'Date', value: isNaN(v) ? 'Invalid Date' : v.toISOString() };
      case 'RegExp':
        return { $type: 'RegExp', value: StringCtor(v) };
      case 'Error':
        return { $type: 'Error', name: v.name, message: v.message };
      case 'ArrayBuffer':
        return { $type: 'ArrayBuffer', byteLength: v.byteLength };
      default:
        if (ArrayBuffer.isView(v)) return { $type: kind, length: v.length };
        return { $type: kind };
    }
  }

  // sent returns the JSON text of a message as the port sends it, so both
  // ends of a port record the same value: with JSON serialization (Chrome's
  // default), the JSON text itself (an undefined field is absent, a Date is
  // its string, a Map is {}); with "message_serialization":
  // "structured_clone", the tagged value, which the receiver's clone shows
  // the same way. Firefox always structured-clones (it has no
  // message_serialization key): its extension URLs are moz-extension://.
  let cloneMode = false;
  try {
    cloneMode = !!(runtime && runtime.getManifest && runtime.getManifest().message_serialization === 'structured_clone') ||
      !!(runtime && runtime.getURL && apply(strSlice, runtime.getURL(''), [0, 14]) === 'moz-extension:');
  } catch (e) {
    // A web page has no getManifest: JSON.
  }
  //
  // A JSON text over sentMax (a String object's 64 MiB, say) is not copied
  // into the trace: the tagged value stands for it, as before JSON.
  const sentMax = 1 << 20;
  // Native messaging is always JSON (native=true), whatever the manifest says.
  function sent(v, native) {
    if (cloneMode && !native) return enc(v);
    let text;
    try {
      text = stringify(v);
    } catch (e) {
      return enc(v);
    }
    return text !== undefined && text.length > sentMax ? enc(v) : text;
  }

  function errText(e) {
    if (e && typeof e === 'object' && 'message' in e) {
      return (e.name ? StringCtor(e.name) + ': ' : '') + StringCtor(e.message);
    }
    return StringCtor(e);
  }

  const now = () => timeOrigin + perfNow();

  // emit sends one event; at is when it happened (now when omitted). A call
  // is stamped with the time it started, before its effect can reach another
  // realm, and reported once it returned.
  //
  // Events are sent in batches: a binding call costs Chrome far more than a
  // postMessage. A batch normally goes at the end of the task that made it
  // (its microtask checkpoint), before anything else can run in this realm
  // or learn of its effects; a loop of posts is one task, one call. Under a
  // flood of tasks (a worker receiving thousands of messages a second), a
  // batch waits up to a millisecond for the tasks after it. A realm that goes
  // away then could lose that last batch, so the probe flushes on pagehide,
  // and the harness flushes before it stops a worker or crashes a tab.
  // queue is the batch so far: the events' JSON texts joined with commas.
  // A string, which no code of the realm's can patch (an array would go
  // through Array.prototype's setters or defineProperty for each event).
  let queue = '';
  let scheduled = false;
  const floodFlushes = 50;
  const floodWindow = 10; // ms
  const recent = new Float64Array(floodFlushes); // times of the last flushes, a ring
  let ring = 0; // recent[ring] is the oldest
  let flushes = 0;
  const queueMicrotask_ = g.queueMicrotask.bind(g);
  const setTimeout_ = g.setTimeout.bind(g);
  // held keeps the events of a page that Chrome restored from the
  // back/forward cache until the harness has added the binding back (Chrome
  // forgot it when it cached the page): the page's pageshow listeners run
  // first thing, often to connect again. The probe's listener was added
  // before the page's own, so it runs first.
  let held = false;
  function flush() {
    scheduled = false;
    if (held || queue === '') return;
    const batch = queue;
    queue = '';
    recent[ring] = perfNow();
    ring = (ring + 1) % floodFlushes;
    flushes++;
    // Joined with +, which no code of the realm's can patch, as in a web
    // page probed after its own scripts ran.
    send(secret + '[' + batch + ']');
  }
  function schedule() {
    scheduled = true;
    const flooded = flushes >= floodFlushes && perfNow() - recent[ring] < floodWindow;
    if (flooded) setTimeout_(flush, 1);
    else queueMicrotask_(flush);
  }
  if (typeof g.addEventListener === 'function') {
    g.addEventListener('pagehide', flush);
    g.addEventListener('pageshow', (e) => { if (e.persisted) held = true; });
  }

  // An event is one JSON object: k kind, t time, p port handle, n the port's
  // name, then the fields. m (a message) and s (a sender) are already JSON
  // text from enc and go in as they are, not quoted again: a message crosses
  // the binding, the DevTools pipe and the Go decoder, and each level of
  // quoting costs at each of them.
  function emit(kind, handle, fields, at) {
    let ev = head(handle);
    const ks = keys(fields);
    for (let i = 0; i < ks.length; i++) {
      const key = ks[i];
      const v = fields[key];
      if (v === undefined) continue;
      ev += ',"' + key + '":' + (key === 'm' || key === 's' || key === 'to' ? v : stringify(v));
    }
    queueEvent(kind, at, ev);
  }

  // emitMessage is emit(kind, handle, {m: m}, at) for the events that a
  // flood is made of (post, message), without the fields object.
  function emitMessage(kind, handle, m, at) {
    queueEvent(kind, at, m === undefined ? head(handle) : head(handle) + ',"m":' + m);
  }

  // head is the part of an event that names its port: its handle and, for a
  // port, its name when it was made (heads keeps it per port).
  function head(handle) {
    const h = mget(heads, handle);
    return h === undefined ? ',"p":' + handle : h;
  }

  function queueEvent(kind, at, rest) {
    const ev = '{"k":"' + kind + '","t":' + (at === undefined ? now() : at) + rest + '}';
    queue = queue === '' ? ev : queue + ',' + ev;
    if (!scheduled) schedule();
  }

  const handles = new WeakMapCtor(); // port -> handle
  const ports = new MapCtor(); // handle -> port
  const heads = new MapCtor(); // handle -> ',"p":handle,"n":port.name' (the name when the port was made)
  let next = 0;

  function replace(obj, prop, fn) {
    try {
      obj[prop] = fn;
    } catch (e) {
      // fall through to defineProperty
    }
    if (obj[prop] !== fn) {
      defineProperty(obj, prop, { value: fn, writable: true, configurable: true, enumerable: true });
    }
  }

  // track gives port a handle, reports how it came to be, and watches it.
  function track(port, kind, fields, at, native) {
    let h = wget(handles, port);
    if (h !== undefined) return h;
    h = ++next;
    wset(handles, port, h);
    mset(ports, h, port);
    const name = port.name;
    mset(heads, h, typeof name === 'string' ? ',"p":' + h + ',"n":' + stringify(name) : ',"p":' + h);
    emit(kind, h, fields, at);

    const post = port.postMessage;
    const disconnect = port.disconnect;
    replace(port, 'postMessage', function postMessage(message) {
      const at = now();
      let r;
      try {
        r = apply(post, this, arguments);
      } catch (e) {
        emit('exception', h, { call: 'postMessage', error: errText(e), m: enc(message) }, at);
        throw e;
      }
      emitMessage('post', h, sent(message, native), at);
      return r;
    });
    replace(port, 'disconnect', function disconnect_() {
      const at = now();
      let r;
      try {
        r = apply(disconnect, this, arguments);
      } catch (e) {
        emit('exception', h, { call: 'disconnect', error: errText(e) }, at);
        throw e;
      }
      emit('disconnect', h, {}, at);
      return r;
    });
    port.onMessage.addListener(function portprobeOnMessage(message) {
      emitMessage('message', h, enc(message));
    });
    port.onDisconnect.addListener(function portprobeOnDisconnect(p) {
      const le = runtime && runtime.lastError;
      // Firefox reports why a port closed in port.error, not in
      // runtime.lastError.
      const pe = p && p.error;
      emit('onDisconnect', h, { le: le ? StringCtor(le.message) : undefined, error: pe ? StringCtor(pe.message) : undefined });
    });
    return h;
  }

  // wrapConnect makes obj[prop] (runtime.connect, tabs.connect) report the
  // ports it returns and the exceptions it throws.
  function wrapConnect(obj, prop, call) {
    const orig = obj && obj[prop];
    if (typeof orig !== 'function') return;
    replace(obj, prop, function connect() {
      const at = now();
      let port;
      try {
        port = apply(orig, this, arguments);
      } catch (e) {
        emit('exception', 0, { call: call, error: errText(e) }, at);
        throw e;
      }
      track(port, 'connect', { call: call }, at);
      return port;
    });
  }

  // wrapConnectNative makes runtime.connectNative report the port it
  // returns (a connect event via connectNative, to the application).
  function wrapConnectNative(obj) {
    const orig = obj.connectNative;
    if (typeof orig !== 'function') return;
    replace(obj, 'connectNative', function connectNative(application) {
      const at = now();
      let port;
      try {
        port = apply(orig, this, arguments);
      } catch (e) {
        emit('exception', 0, { call: 'connectNative', error: errText(e) }, at);
        throw e;
      }
      // The host is named by a string or by {application: name}.
      const name = application !== null && typeof application === 'object' ? application.application : application;
      track(port, 'connect', { call: 'connectNative', to: enc({ application: name }) }, at, true);
      return port;
    });
  }

  // wrapEvent makes the listeners that the realm adds to ev (onConnect,
  // onConnectExternal) report each new port before they run.
  function wrapEvent(ev, kind) {
    wrapListeners(ev, (cb) => function (port) {
      track(port, kind, { s: enc(port.sender) });
      return apply(cb, this, arguments);
    });
  }

  // wrapListeners makes ev.addListener add make(cb), made once per
  // listener cb, in its place; removeListener and hasListener find it.
  function wrapListeners(ev, make) {
    if (!ev || typeof ev.addListener !== 'function') return;
    const add = ev.addListener;
    const remove = ev.removeListener;
    const has = ev.hasListener;
    const wrapped = new WeakMapCtor();
    const wrap = (cb) => {
      let w = wget(wrapped, cb);
      if (!w) {
        w = make(cb);
        wset(wrapped, cb, w);
      }
      return w;
    };
    replace(ev, 'addListener', function addListener(cb) {
      if (typeof cb !== 'function') return apply(add, this, arguments);
      const args = [wrap(cb)];
      for (let i = 1; i < arguments.length; i++) put(args, i, arguments[i]);
      return apply(add, this, args);
    });
    replace(ev, 'removeListener', function removeListener(cb) {
      return apply(remove, this, [(typeof cb === 'function' && wget(wrapped, cb)) || cb]);
    });
    replace(ev, 'hasListener', function hasListener(cb) {
      return apply(has, this, [(typeof cb === 'function' && wget(wrapped, cb)) || cb]);
    });
  }


  // One-time messages (runtime.sendMessage, tabs.sendMessage). Each call
  // gets a handle from the ports' counter, and so does each message a
  // listener receives: the trace names them realm#h as it names ports.
  const PromiseProto = Promise.prototype;
  const promiseThen = PromiseProto.then;
  // isPromise: a promise of this realm's, found without calling its code.
  function isPromise(v) {
    if (v === null || typeof v !== 'object') return false;
    for (let p = getProto(v), i = 0; p !== null && i < 8; p = getProto(p), i++) {
      if (p === PromiseProto) return true;
    }
    return false;
  }
  // errMessage is what the sender of a message gets as its error: Chrome
  // rejects with an Error whose message is its text.
  function errMessage(e) {
    if (e && typeof e === 'object' && 'message' in e) return StringCtor(e.message);
    return StringCtor(e);
  }

  // wrapSend makes obj[prop] report each message it sends and the response
  // or error its sender gets, by callback or by promise. Its arguments are
  // read as Chrome reads them (messaging_util's MassageSendMessageArguments
  // for runtime.sendMessage: a trailing function is the callback; of two
  // arguments, the first is the extension ID when it is a string, null or
  // undefined).
  function wrapSend(obj, prop, call) {
    const orig = obj && obj[prop];
    if (typeof orig !== 'function') return;
    replace(obj, prop, function sendMessage() {
      const at = now();
      const n = arguments.length;
      const args = [];
      for (let i = 0; i < n; i++) put(args, i, arguments[i]);
      const cb = n > 0 && typeof args[n - 1] === 'function' ? args[n - 1] : undefined;
      const rest = cb ? n - 1 : n;
      let message;
      let to;
      if (call === 'runtime.sendNativeMessage') {
        to = { application: args[0] !== null && typeof args[0] === 'object' ? args[0].application : args[0] };
        message = args[1];
      } else if (call === 'tabs.sendMessage') {
        to = { tabId: args[0] };
        if (rest > 2) put(to, 'options', args[2]);
        message = args[1];
      } else if (rest === 1) {
        message = args[0];
      } else if (rest === 2 && (typeof args[0] === 'string' || args[0] === null || args[0] === undefined)) {
        to = { extensionId: args[0] };
        message = args[1];
      } else if (rest === 2) {
        to = { options: args[1] };
        message = args[0];
      } else if (rest === 3) {
        to = { extensionId: args[0], options: args[2] };
        message = args[1];
      }
      const h = ++next;
      if (cb) {
        // runtime.lastError is readable only in the callback; reading it
        // marks it checked (see the package doc).
        put(args, n - 1, function (response) {
          const le = runtime && runtime.lastError;
          if (le) emit('response', h, { call: 'callback', error: StringCtor(le.message) });
          else emit('response', h, { call: 'callback', m: enc(response) });
          return apply(cb, this, arguments);
        });
      }
      let r;
      try {
        r = apply(orig, this, args);
      } catch (e) {
        emit('exception', 0, { call: call, error: errText(e) }, at);
        throw e;
      }
      emit('sendMessage', h, { call: call, m: sent(message, call === 'runtime.sendNativeMessage'), to: to === undefined ? undefined : enc(to) }, at);
      if (!cb && isPromise(r)) {
        // The caller gets a promise that settles as Chrome's does, one
        // step later; an error it leaves unhandled is still reported.
        return apply(promiseThen, r, [
          (v) => { emit('response', h, { call: 'promise', m: enc(v) }); return v; },
          (e) => { emit('response', h, { call: 'promise', error: errMessage(e) }); throw e; },
        ]);
      }
      return r;
    });
  }

  // wrapMessageEvent makes the listeners of ev (onMessage,
  // onMessageExternal) report each message once, then what each listener
  // does with it: calls sendResponse (reply), returns true or a promise
  // (keepOpen, and the promise's outcome as a reply), or throws. Listeners
  // are numbered in the order the realm added them (li, from 1).
  const dispatches = new WeakMapCtor(); // Chrome's sendResponse -> handle
  const responders = new MapCtor(); // handle -> sendResponse of Go's listener
  const goListeners = new WeakMapCtor(); // the listeners of listenMessages
  let listeners = 0;
  function wrapMessageEvent(ev, kind) {
    wrapListeners(ev, (cb) => {
      const li = ++listeners;
      return function (message, sender, sendResponse) {
        let h = typeof sendResponse === 'function' ? wget(dispatches, sendResponse) : undefined;
        if (h === undefined) {
          h = ++next;
          if (typeof sendResponse === 'function') wset(dispatches, sendResponse, h);
          emit(kind, h, { m: enc(message), s: enc(sender) });
        }
        const respond = function sendResponse_(response) {
          const at = now();
          let r;
          try {
            r = apply(sendResponse, this, arguments);
          } catch (e) {
            // Chrome refused the answer (it cannot be serialized, or it is
            // over 64 MiB): no reply went.
            emit('exception', h, { li: li, call: 'sendResponse', error: errText(e) }, at);
            throw e;
          }
          emit('reply', h, { li: li, call: 'sendResponse', m: sent(response) }, at);
          return r;
        };
        if (wget(goListeners, cb)) mset(responders, h, respond);
        const args = [message, sender, respond];
        for (let i = 3; i < arguments.length; i++) put(args, i, arguments[i]);
        let r;
        try {
          r = apply(cb, this, args);
        } catch (e) {
          emit('exception', h, { li: li, call: kind + ' listener', error: errText(e) });
          throw e;
        }
        if (r === true) {
          emit('keepOpen', h, { li: li, call: 'true' });
        } else if (isPromise(r)) {
          emit('keepOpen', h, { li: li, call: 'promise' });
          apply(promiseThen, r, [
            (v) => emit('reply', h, { li: li, call: 'promise', m: sent(v) }),
            (e) => emit('reply', h, { li: li, call: 'promise', error: errMessage(e) }),
          ]);
        }
        return r;
      };
    });
  }


  if (runtime) {
    wrapConnect(runtime, 'connect', 'connect');
    wrapEvent(runtime.onConnect, 'onConnect');
    wrapEvent(runtime.onConnectExternal, 'onConnectExternal');
    wrapSend(runtime, 'sendMessage', 'runtime.sendMessage');
    wrapSend(runtime, 'sendNativeMessage', 'runtime.sendNativeMessage');
    wrapConnectNative(runtime);
    wrapMessageEvent(runtime.onMessage, 'onMessage');
    wrapMessageEvent(runtime.onMessageExternal, 'onMessageExternal');
    wrapEvent(runtime.onUserScriptConnect, 'onUserScriptConnect');
    wrapMessageEvent(runtime.onUserScriptMessage, 'onUserScriptMessage');
  }
  if (api && api.tabs) {
    wrapConnect(api.tabs, 'connect', 'tabs.connect');
    wrapSend(api.tabs, 'sendMessage', 'tabs.sendMessage');
  }

  function port(h) {
    const p = mget(ports, h);
    if (!p) throw new Error('portprobe: no port #' + h + ' in this realm');
    return p;
  }

  // The control object. Its methods run the realm's (wrapped) APIs, so what
  // they do is traced like what the realm's own code does. Its class tells
  // the harness, in the answer that installed the probe, whether this is a
  // user-script world: its chrome.runtime has messaging but no getURL.
  function PortprobeControl() {}
  function PortprobeUserScriptControl() {}
  const userScriptWorld = !!(runtime && typeof runtime.getURL !== 'function' && typeof g.document === 'object' && g.location && g.location.protocol !== 'chrome-extension:');
  const methods = {
    connect(...args) {
      return wget(handles, apply(runtime.connect, runtime, args));
    },
    tabsConnect(...args) {
      return wget(handles, apply(api.tabs.connect, api.tabs, args));
    },
    post(h, message) {
      port(h).postMessage(message);
    },
    disconnect(h) {
      port(h).disconnect();
    },
    // port returns the port with handle h, for ConnectJS and PostJS.
    port(h) {
      return port(h);
    },
    listen(kind) {
      runtime[kind].addListener(function portprobeListener() {});
    },
    sendMessage(...args) {
      // A user-script world without messaging has no sendMessage.
      if (!runtime || typeof runtime.sendMessage !== 'function') throw new TypeError('chrome.runtime.sendMessage is not a function');
      return apply(runtime.sendMessage, runtime, args);
    },
    tabsSendMessage(...args) {
      return apply(api.tabs.sendMessage, api.tabs, args);
    },
    // listenMessages adds a listener that keeps each message's channel
    // open (it returns true) until Go answers with reply.
    listenMessages(kind) {
      const listener = function portprobeMessageListener() { return true; };
      wset(goListeners, listener, true);
      runtime[kind].addListener(listener);
    },
    reply(h, response) {
      const respond = mget(responders, h);
      if (!respond) throw new Error('portprobe: no message #' + h + ' to answer in this realm');
      mdelete(responders, h);
      respond(response);
    },
    // flush sends the events not sent yet, before the harness takes the
    // realm away.
    flush() {
      flush();
    },
    // mark sends the events not sent yet, then a marker that the harness
    // waits for: where the events and the answer to an evaluation come
    // back on separate channels (Firefox's console messages), the marker
    // tells it that everything sent before has arrived.
    mark(id) {
      flush();
      send(secret + '!' + id);
    },
    // release sends the events held since a restore from the back/forward
    // cache, once the binding is back.
    release() {
      held = false;
      flush();
    },
  };
  const control = create((userScriptWorld ? PortprobeUserScriptControl : PortprobeControl).prototype);
  const methodNames = keys(methods);
  for (let i = 0; i < methodNames.length; i++) put(control, methodNames[i], methods[methodNames[i]]);
  // The control object is also kept in a private field stamped on the
  // global object (a base class that returns its argument lets a subclass's
  // field land on any object). No code of the realm can read it; DevTools
  // can (Runtime.getProperties lists private fields), which is how the
  // harness finds the probe again when Chrome restores the page from the
  // back/forward cache and the old handle no longer works.
  class Stamp extends function (target) { return target; } {
    #portprobeControl = control;
  }
  try {
    new Stamp(g);
  } catch (e) {
    // Firefox refuses private fields on its global objects (a WindowProxy
    // is exotic there); its engine keeps the control object itself.
  }
  return control;
})
