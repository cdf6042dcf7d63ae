(() => {
  var __defProp = Object.defineProperty;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };

  // node_modules/@livechat/customer-sdk/dist/customer-sdk.esm.js
  var customer_sdk_esm_exports = {};
  __export(customer_sdk_esm_exports, {
    connectionStatuses: () => connectionStatuses,
    debug: () => debug,
    eventTypes: () => eventTypes,
    init: () => init,
    parseCustomEvent: () => parseCustomEvent,
    parseEvent: () => parseEvent$1,
    parseFile: () => parseFile,
    parseFilledForm: () => parseFilledForm,
    parseForm: () => parseForm$1,
    parseGreeting: () => parseGreeting,
    parseMessage: () => parseMessage,
    parseRichMessage: () => parseRichMessage,
    parseSystemMessage: () => parseSystemMessage,
    serverDisconnectionReasons: () => serverDisconnectionReasons,
    serverErrorCodes: () => serverErrorCodes,
    serverPushActions: () => serverPushActions,
    sortOrders: () => sortOrders,
    userTypes: () => userTypes
  });

  // node_modules/memory-web-storage/es/index.js
  var testKey = "__test_storage_support__";
  var testStorageSupport = function testStorageSupport2() {
    var type = arguments.length > 0 && arguments[0] !== void 0 ? arguments[0] : "local";
    try {
      var storage2 = window[type + "Storage"];
      storage2.setItem(testKey, true);
      storage2.getItem(testKey);
      storage2.removeItem(testKey);
      return true;
    } catch (err) {
      return false;
    }
  };
  var createStorage = function createStorage2() {
    var memoryStorage = Object.defineProperties({}, {
      getItem: {
        value: function value(key) {
          return memoryStorage[key] || null;
        }
      },
      setItem: {
        value: function value(key, _value) {
          try {
            memoryStorage[key] = String(_value);
          } catch (err) {
          }
        }
      },
      removeItem: {
        value: function value(key) {
          delete memoryStorage[key];
        }
      },
      clear: {
        value: function value() {
          Object.keys(memoryStorage).forEach(memoryStorage.removeItem);
        }
      },
      key: {
        value: function value(index2) {
          return Object.keys(memoryStorage)[index2] || null;
        }
      },
      length: {
        get: function get2() {
          return Object.keys(memoryStorage).length;
        }
      }
    });
    return memoryStorage;
  };
  var es_default = /* @__PURE__ */ createStorage();

  // node_modules/@livechat/isomorphic-storage/dist/isomorphic-storage.es.js
  var storage = testStorageSupport() ? window.localStorage : es_default;
  var index = {
    setItem: function setItem(key, data) {
      return new Promise(function(resolve) {
        return resolve(storage.setItem(key, data));
      });
    },
    getItem: function getItem(key) {
      return new Promise(function(resolve) {
        return resolve(storage.getItem(key));
      });
    },
    removeItem: function removeItem(key) {
      return new Promise(function(resolve) {
        return resolve(storage.removeItem(key));
      });
    }
  };
  var isomorphic_storage_es_default = index;

  // node_modules/@livechat/data-utils/dist/data-utils.es.js
  var _ref = {};
  var hasOwnProperty = _ref.hasOwnProperty;
  function hasOwn(prop, obj) {
    return hasOwnProperty.call(obj, prop);
  }
  function flatMap(iteratee, arr) {
    var _ref2;
    return (_ref2 = []).concat.apply(_ref2, arr.map(iteratee));
  }
  function isArray(arr) {
    return Array.isArray(arr);
  }
  function isObject(obj) {
    return typeof obj === "object" && obj !== null && !isArray(obj);
  }
  function keys(obj) {
    if ("keys" in Object && typeof Object.keys === "function") {
      return Object.keys(obj);
    }
    var keysArray = [];
    for (var property in obj) {
      if (Object.prototype.hasOwnProperty.call(obj, property)) {
        keysArray.push(property);
      }
    }
    return keysArray;
  }
  function mapValues(mapper, obj) {
    return keys(obj).reduce(function(acc, key) {
      acc[key] = mapper(obj[key]);
      return acc;
    }, {});
  }
  function identity(value) {
    return value;
  }
  function generateRandomId() {
    return Math.random().toString(36).substring(2);
  }
  function generateUniqueId(map) {
    var id = generateRandomId();
    return hasOwn(id, map) ? generateUniqueId(map) : id;
  }
  function get(propPath, obj) {
    var arrPath = typeof propPath === "string" ? propPath.split(".") : propPath;
    var pathPartIndex = 0;
    var result = obj;
    while (result && pathPartIndex < arrPath.length) {
      result = result[arrPath[pathPartIndex++]];
    }
    return result;
  }
  function includes(value, arrOrStr) {
    return arrOrStr.indexOf(value) !== -1;
  }
  function keyBy(prop, arr) {
    return arr.reduce(function(acc, el) {
      acc[el[prop]] = el;
      return acc;
    }, {});
  }
  function last(arr) {
    return arr.length > 0 ? arr[arr.length - 1] : void 0;
  }
  function noop() {
  }
  function values(obj) {
    return keys(obj).map(function(key) {
      return obj[key];
    });
  }
  function numericSortBy(propOrMapper, collection) {
    var mapper = typeof propOrMapper === "function" ? propOrMapper : function(element) {
      return get(propOrMapper, element);
    };
    return (isArray(collection) ? [].concat(collection) : values(collection)).sort(function(elementA, elementB) {
      return mapper(elementA) - mapper(elementB);
    });
  }
  function pick(keys2, obj) {
    return keys2.reduce(function(acc, prop) {
      acc[prop] = obj[prop];
      return acc;
    }, {});
  }
  function pickOwn(props, obj) {
    return props.reduce(function(acc, prop) {
      if (hasOwn(prop, obj)) {
        acc[prop] = obj[prop];
      }
      return acc;
    }, {});
  }
  function toPairs(obj) {
    return keys(obj).map(function(key) {
      return [key, obj[key]];
    });
  }
  function stringCompare(strA, strB) {
    if (strA === strB) {
      return 0;
    }
    return strA < strB ? -1 : 1;
  }
  function uniqBy(iteratee, arr) {
    var seen = [];
    return arr.filter(function(element) {
      var key = iteratee(element);
      if (seen.indexOf(key) === -1) {
        seen.push(key);
        return true;
      }
      return false;
    });
  }

  // node_modules/@livechat/url-utils/dist/url-utils.esm.js
  var buildQueryString = function buildQueryString2(obj) {
    return toPairs(obj).map(function(pair) {
      return pair.map(encodeURIComponent).join("=");
    }).join("&");
  };
  var originRegexp = /[^:]+:\/\/[^(/|?)\s]+/;
  var getOrigin = function getOrigin2(url) {
    var domain = url.match(originRegexp);
    return domain && domain[0];
  };
  var intersperseWithTabOrNewline = function intersperseWithTabOrNewline2(str) {
    return str.replace(/\w/g, "$&[\\r\\n\\t]*");
  };
  var unsafeProtocol = new RegExp("^[\0-]*(" + intersperseWithTabOrNewline("javascript") + "|" + intersperseWithTabOrNewline("data") + "):", "i");
  var protocolRegexp = /^((http(s)?:)?\/\/)/;
  var removeProtocol = function removeProtocol2(url) {
    return url.replace(protocolRegexp, "");
  };

  // node_modules/@livechat/customer-auth/dist/customer-auth.esm.js
  function unfetch(e, n) {
    return n = n || {}, new Promise(function(t, r) {
      var s = new XMLHttpRequest(), o = [], u = [], i = {}, a = function() {
        return {
          ok: 2 == (s.status / 100 | 0),
          statusText: s.statusText,
          status: s.status,
          url: s.responseURL,
          text: function() {
            return Promise.resolve(s.responseText);
          },
          json: function() {
            return Promise.resolve(s.responseText).then(JSON.parse);
          },
          blob: function() {
            return Promise.resolve(new Blob([s.response]));
          },
          clone: a,
          headers: {
            keys: function() {
              return o;
            },
            entries: function() {
              return u;
            },
            get: function(e2) {
              return i[e2.toLowerCase()];
            },
            has: function(e2) {
              return e2.toLowerCase() in i;
            }
          }
        };
      };
      for (var l in s.open(n.method || "get", e, true), s.onload = function() {
        s.getAllResponseHeaders().replace(/^(.*?):[^\S\n]*([\s\S]*?)$/gm, function(e2, n2, t2) {
          o.push(n2 = n2.toLowerCase()), u.push([n2, t2]), i[n2] = i[n2] ? i[n2] + "," + t2 : t2;
        }), t(a());
      }, s.onerror = r, s.withCredentials = "include" == n.credentials, n.headers) s.setRequestHeader(l, n.headers[l]);
      s.send(n.body || null);
    });
  }
  var ACCOUNTS_URL = "https://accounts.livechatinc.com";
  var buildPath = function buildPath2(_ref2) {
    var uniqueGroups = _ref2.uniqueGroups, organizationId = _ref2.organizationId, groupId = _ref2.groupId;
    return uniqueGroups ? "/v2/customer/" + organizationId + "/" + groupId + "/token" : "/v2/customer/token";
  };
  var buildRequestUrl = function buildRequestUrl2(config, env) {
    var url = env === "production" ? ACCOUNTS_URL : ACCOUNTS_URL.replace("accounts.", "accounts." + env + ".");
    var path = buildPath(config);
    return "" + url + path;
  };
  var createError = function createError2(_ref2) {
    var code = _ref2.code, message = _ref2.message;
    var err = new Error(message);
    err.code = code;
    return err;
  };
  var parseTokenResponse = function parseTokenResponse2(token, organizationId) {
    if ("identity_exception" in token) {
      throw createError({
        code: "SSO_IDENTITY_EXCEPTION",
        message: token.identity_exception
      });
    }
    if ("oauth_exception" in token) {
      throw createError({
        code: "SSO_OAUTH_EXCEPTION",
        message: token.oauth_exception
      });
    }
    return {
      accessToken: token.access_token,
      entityId: token.entity_id,
      expiresIn: token.expires_in * 1e3,
      tokenType: token.token_type,
      creationDate: Date.now(),
      organizationId
    };
  };
  var fetchToken = function fetchToken2(config, env) {
    return unfetch("" + buildRequestUrl(config, env), {
      method: "POST",
      credentials: "include",
      body: JSON.stringify({
        response_type: "token",
        grant_type: "cookie",
        client_id: config.clientId,
        organization_id: config.organizationId,
        redirect_uri: getOrigin(String(window.location)) + window.location.pathname
      })
    }).then(function(res) {
      return res.json();
    }).then(function(token) {
      return parseTokenResponse(token, config.organizationId);
    });
  };
  var validateConfig = function validateConfig2(_ref2) {
    var organizationId = _ref2.organizationId, clientId = _ref2.clientId;
    if (typeof organizationId !== "string" || typeof clientId !== "string") {
      throw new Error("You need to pass valid configuration object: { organizationId, clientId }.");
    }
  };
  var isExpiredToken = function isExpiredToken2(_ref2) {
    var creationDate = _ref2.creationDate, expiresIn = _ref2.expiresIn;
    return Date.now() >= creationDate + expiresIn;
  };
  var createAuth = function createAuth2(config, licenseId, env) {
    validateConfig(config);
    var tokenStoragePrefix = config.tokenStoragePrefix || "@@lc_auth_token:";
    var oldCacheKey = "" + tokenStoragePrefix + licenseId + (config.uniqueGroups ? ":" + config.groupId : "");
    var newCacheKey = "" + tokenStoragePrefix + config.organizationId + (config.uniqueGroups ? ":" + config.groupId : "");
    var pendingTokenRequest = null;
    var cachedToken = null;
    var retrievingToken = isomorphic_storage_es_default.getItem(oldCacheKey).then(function(token) {
      if (retrievingToken === null) {
        return;
      }
      retrievingToken = null;
      if (!token) {
        isomorphic_storage_es_default.removeItem(oldCacheKey).then(function() {
          return isomorphic_storage_es_default.getItem(newCacheKey).then(function(newKeyToken) {
            if (!newKeyToken) {
              return;
            }
            cachedToken = JSON.parse(newKeyToken);
          });
        });
        return;
      }
      isomorphic_storage_es_default.setItem(newCacheKey, token).then(function() {
        isomorphic_storage_es_default.removeItem(oldCacheKey).then(function() {
          cachedToken = JSON.parse(token);
        });
      });
    });
    var getFreshToken = function getFreshToken2() {
      pendingTokenRequest = fetchToken(config, env).then(function(token) {
        pendingTokenRequest = null;
        isomorphic_storage_es_default.setItem(newCacheKey, JSON.stringify(token));
        cachedToken = token;
        return token;
      }, function(err) {
        pendingTokenRequest = null;
        throw err;
      });
      return pendingTokenRequest;
    };
    var getToken = function getToken2() {
      if (pendingTokenRequest) {
        return pendingTokenRequest;
      }
      if (cachedToken && !isExpiredToken(cachedToken)) {
        return Promise.resolve(cachedToken);
      }
      if (retrievingToken) {
        return retrievingToken.then(getToken2);
      }
      return getFreshToken();
    };
    var hasToken = function hasToken2() {
      if (retrievingToken) {
        return retrievingToken.then(hasToken2);
      }
      return Promise.resolve(!!cachedToken);
    };
    var invalidate = function invalidate2() {
      cachedToken = null;
      retrievingToken = null;
      return isomorphic_storage_es_default.removeItem(newCacheKey);
    };
    return {
      getFreshToken,
      getToken,
      hasToken,
      invalidate
    };
  };
  var customer_auth_esm_default = createAuth;

  // node_modules/mitt/dist/mitt.mjs
  function mitt_default(n) {
    return { all: n = n || /* @__PURE__ */ new Map(), on: function(t, e) {
      var i = n.get(t);
      i ? i.push(e) : n.set(t, [e]);
    }, off: function(t, e) {
      var i = n.get(t);
      i && (e ? i.splice(i.indexOf(e) >>> 0, 1) : n.set(t, []));
    }, emit: function(t, e) {
      var i = n.get(t);
      i && i.slice().map(function(n2) {
        n2(e);
      }), (i = n.get("*")) && i.slice().map(function(n2) {
        n2(t, e);
      });
    } };
  }

  // node_modules/@livechat/mitt/dist/livechat-mitt.es.js
  function _extends() {
    _extends = Object.assign ? Object.assign.bind() : function(target) {
      for (var i = 1; i < arguments.length; i++) {
        var source = arguments[i];
        for (var key in source) {
          if (Object.prototype.hasOwnProperty.call(source, key)) {
            target[key] = source[key];
          }
        }
      }
      return target;
    };
    return _extends.apply(this, arguments);
  }
  function _objectWithoutPropertiesLoose(source, excluded) {
    if (source == null) return {};
    var target = {};
    var sourceKeys = Object.keys(source);
    var key, i;
    for (i = 0; i < sourceKeys.length; i++) {
      key = sourceKeys[i];
      if (excluded.indexOf(key) >= 0) continue;
      target[key] = source[key];
    }
    return target;
  }
  var createMitt = function createMitt2() {
    var _mitt = mitt_default(), all = _mitt.all, instance = _objectWithoutPropertiesLoose(_mitt, ["all"]);
    var off = function off2(type, handler) {
      if (!type) {
        all.clear();
        return;
      }
      instance.off(type, handler);
    };
    var once = function once2(type, handler) {
      instance.on(type, function onceHandler(data, maybeSecondArg) {
        instance.off(type, onceHandler);
        handler(data, maybeSecondArg);
      });
    };
    return _extends({}, instance, {
      off,
      once
    });
  };
  var livechat_mitt_es_default = createMitt;

  // node_modules/@babel/runtime/helpers/esm/typeof.js
  function _typeof(o) {
    "@babel/helpers - typeof";
    return _typeof = "function" == typeof Symbol && "symbol" == typeof Symbol.iterator ? function(o2) {
      return typeof o2;
    } : function(o2) {
      return o2 && "function" == typeof Symbol && o2.constructor === Symbol && o2 !== Symbol.prototype ? "symbol" : typeof o2;
    }, _typeof(o);
  }

  // node_modules/@babel/runtime/helpers/esm/toPrimitive.js
  function toPrimitive(t, e) {
    if ("object" != _typeof(t) || !t) return t;
    var r;
    if ("undefined" != typeof Symbol && void 0 !== (r = t[Symbol.toPrimitive])) {
      var i = r.call(t, e || "default");
      if ("object" != _typeof(i)) return i;
      throw new TypeError("@@toPrimitive must return a primitive value.");
    }
    return ("string" === e ? String : Number)(t);
  }

  // node_modules/@babel/runtime/helpers/esm/toPropertyKey.js
  function toPropertyKey(t) {
    var i = toPrimitive(t, "string");
    return "symbol" == _typeof(i) ? i : i + "";
  }

  // node_modules/@babel/runtime/helpers/esm/defineProperty.js
  function _defineProperty(e, r, t) {
    return (r = toPropertyKey(r)) in e ? Object.defineProperty(e, r, {
      value: t,
      enumerable: true,
      configurable: true,
      writable: true
    }) : e[r] = t, e;
  }

  // node_modules/@babel/runtime/helpers/esm/objectSpread2.js
  function ownKeys(e, r) {
    var t = Object.keys(e);
    if (Object.getOwnPropertySymbols) {
      var o = Object.getOwnPropertySymbols(e);
      r && (o = o.filter(function(r2) {
        return Object.getOwnPropertyDescriptor(e, r2).enumerable;
      })), t.push.apply(t, o);
    }
    return t;
  }
  function _objectSpread2(e) {
    for (var r = 1; r < arguments.length; r++) {
      var t = null != arguments[r] ? arguments[r] : {};
      r % 2 ? ownKeys(Object(t), true).forEach(function(r2) {
        _defineProperty(e, r2, t[r2]);
      }) : Object.getOwnPropertyDescriptors ? Object.defineProperties(e, Object.getOwnPropertyDescriptors(t)) : ownKeys(Object(t)).forEach(function(r2) {
        Object.defineProperty(e, r2, Object.getOwnPropertyDescriptor(t, r2));
      });
    }
    return e;
  }

  // node_modules/redux/es/redux.js
  var $$observable = (function() {
    return typeof Symbol === "function" && Symbol.observable || "@@observable";
  })();
  var randomString = function randomString2() {
    return Math.random().toString(36).substring(7).split("").join(".");
  };
  var ActionTypes = {
    INIT: "@@redux/INIT" + randomString(),
    REPLACE: "@@redux/REPLACE" + randomString(),
    PROBE_UNKNOWN_ACTION: function PROBE_UNKNOWN_ACTION() {
      return "@@redux/PROBE_UNKNOWN_ACTION" + randomString();
    }
  };
  function isPlainObject(obj) {
    if (typeof obj !== "object" || obj === null) return false;
    var proto = obj;
    while (Object.getPrototypeOf(proto) !== null) {
      proto = Object.getPrototypeOf(proto);
    }
    return Object.getPrototypeOf(obj) === proto;
  }
  function miniKindOf(val) {
    if (val === void 0) return "undefined";
    if (val === null) return "null";
    var type = typeof val;
    switch (type) {
      case "boolean":
      case "string":
      case "number":
      case "symbol":
      case "function": {
        return type;
      }
    }
    if (Array.isArray(val)) return "array";
    if (isDate(val)) return "date";
    if (isError(val)) return "error";
    var constructorName = ctorName(val);
    switch (constructorName) {
      case "Symbol":
      case "Promise":
      case "WeakMap":
      case "WeakSet":
      case "Map":
      case "Set":
        return constructorName;
    }
    return type.slice(8, -1).toLowerCase().replace(/\s/g, "");
  }
  function ctorName(val) {
    return typeof val.constructor === "function" ? val.constructor.name : null;
  }
  function isError(val) {
    return val instanceof Error || typeof val.message === "string" && val.constructor && typeof val.constructor.stackTraceLimit === "number";
  }
  function isDate(val) {
    if (val instanceof Date) return true;
    return typeof val.toDateString === "function" && typeof val.getDate === "function" && typeof val.setDate === "function";
  }
  function kindOf(val) {
    var typeOfVal = typeof val;
    if (true) {
      typeOfVal = miniKindOf(val);
    }
    return typeOfVal;
  }
  function createStore(reducer, preloadedState, enhancer) {
    var _ref2;
    if (typeof preloadedState === "function" && typeof enhancer === "function" || typeof enhancer === "function" && typeof arguments[3] === "function") {
      throw new Error(false ? formatProdErrorMessage(0) : "It looks like you are passing several store enhancers to createStore(). This is not supported. Instead, compose them together to a single function. See https://redux.js.org/tutorials/fundamentals/part-4-store#creating-a-store-with-enhancers for an example.");
    }
    if (typeof preloadedState === "function" && typeof enhancer === "undefined") {
      enhancer = preloadedState;
      preloadedState = void 0;
    }
    if (typeof enhancer !== "undefined") {
      if (typeof enhancer !== "function") {
        throw new Error(false ? formatProdErrorMessage(1) : "Expected the enhancer to be a function. Instead, received: '" + kindOf(enhancer) + "'");
      }
      return enhancer(createStore)(reducer, preloadedState);
    }
    if (typeof reducer !== "function") {
      throw new Error(false ? formatProdErrorMessage(2) : "Expected the root reducer to be a function. Instead, received: '" + kindOf(reducer) + "'");
    }
    var currentReducer = reducer;
    var currentState = preloadedState;
    var currentListeners = [];
    var nextListeners = currentListeners;
    var isDispatching = false;
    function ensureCanMutateNextListeners() {
      if (nextListeners === currentListeners) {
        nextListeners = currentListeners.slice();
      }
    }
    function getState() {
      if (isDispatching) {
        throw new Error(false ? formatProdErrorMessage(3) : "You may not call store.getState() while the reducer is executing. The reducer has already received the state as an argument. Pass it down from the top reducer instead of reading it from the store.");
      }
      return currentState;
    }
    function subscribe(listener) {
      if (typeof listener !== "function") {
        throw new Error(false ? formatProdErrorMessage(4) : "Expected the listener to be a function. Instead, received: '" + kindOf(listener) + "'");
      }
      if (isDispatching) {
        throw new Error(false ? formatProdErrorMessage(5) : "You may not call store.subscribe() while the reducer is executing. If you would like to be notified after the store has been updated, subscribe from a component and invoke store.getState() in the callback to access the latest state. See https://redux.js.org/api/store#subscribelistener for more details.");
      }
      var isSubscribed = true;
      ensureCanMutateNextListeners();
      nextListeners.push(listener);
      return function unsubscribe() {
        if (!isSubscribed) {
          return;
        }
        if (isDispatching) {
          throw new Error(false ? formatProdErrorMessage(6) : "You may not unsubscribe from a store listener while the reducer is executing. See https://redux.js.org/api/store#subscribelistener for more details.");
        }
        isSubscribed = false;
        ensureCanMutateNextListeners();
        var index2 = nextListeners.indexOf(listener);
        nextListeners.splice(index2, 1);
        currentListeners = null;
      };
    }
    function dispatch(action) {
      if (!isPlainObject(action)) {
        throw new Error(false ? formatProdErrorMessage(7) : "Actions must be plain objects. Instead, the actual type was: '" + kindOf(action) + "'. You may need to add middleware to your store setup to handle dispatching other values, such as 'redux-thunk' to handle dispatching functions. See https://redux.js.org/tutorials/fundamentals/part-4-store#middleware and https://redux.js.org/tutorials/fundamentals/part-6-async-logic#using-the-redux-thunk-middleware for examples.");
      }
      if (typeof action.type === "undefined") {
        throw new Error(false ? formatProdErrorMessage(8) : 'Actions may not have an undefined "type" property. You may have misspelled an action type string constant.');
      }
      if (isDispatching) {
        throw new Error(false ? formatProdErrorMessage(9) : "Reducers may not dispatch actions.");
      }
      try {
        isDispatching = true;
        currentState = currentReducer(currentState, action);
      } finally {
        isDispatching = false;
      }
      var listeners = currentListeners = nextListeners;
      for (var i = 0; i < listeners.length; i++) {
        var listener = listeners[i];
        listener();
      }
      return action;
    }
    function replaceReducer(nextReducer) {
      if (typeof nextReducer !== "function") {
        throw new Error(false ? formatProdErrorMessage(10) : "Expected the nextReducer to be a function. Instead, received: '" + kindOf(nextReducer));
      }
      currentReducer = nextReducer;
      dispatch({
        type: ActionTypes.REPLACE
      });
    }
    function observable() {
      var _ref3;
      var outerSubscribe = subscribe;
      return _ref3 = {
        /**
         * The minimal observable subscription method.
         * @param {Object} observer Any object that can be used as an observer.
         * The observer object should have a `next` method.
         * @returns {subscription} An object with an `unsubscribe` method that can
         * be used to unsubscribe the observable from the store, and prevent further
         * emission of values from the observable.
         */
        subscribe: function subscribe2(observer) {
          if (typeof observer !== "object" || observer === null) {
            throw new Error(false ? formatProdErrorMessage(11) : "Expected the observer to be an object. Instead, received: '" + kindOf(observer) + "'");
          }
          function observeState() {
            if (observer.next) {
              observer.next(getState());
            }
          }
          observeState();
          var unsubscribe = outerSubscribe(observeState);
          return {
            unsubscribe
          };
        }
      }, _ref3[$$observable] = function() {
        return this;
      }, _ref3;
    }
    dispatch({
      type: ActionTypes.INIT
    });
    return _ref2 = {
      dispatch,
      subscribe,
      getState,
      replaceReducer
    }, _ref2[$$observable] = observable, _ref2;
  }
  function compose() {
    for (var _len = arguments.length, funcs = new Array(_len), _key = 0; _key < _len; _key++) {
      funcs[_key] = arguments[_key];
    }
    if (funcs.length === 0) {
      return function(arg) {
        return arg;
      };
    }
    if (funcs.length === 1) {
      return funcs[0];
    }
    return funcs.reduce(function(a, b) {
      return function() {
        return a(b.apply(void 0, arguments));
      };
    });
  }
  function applyMiddleware() {
    for (var _len = arguments.length, middlewares = new Array(_len), _key = 0; _key < _len; _key++) {
      middlewares[_key] = arguments[_key];
    }
    return function(createStore2) {
      return function() {
        var store = createStore2.apply(void 0, arguments);
        var _dispatch = function dispatch() {
          throw new Error(false ? formatProdErrorMessage(15) : "Dispatching while constructing your middleware is not allowed. Other middleware would not be applied to this dispatch.");
        };
        var middlewareAPI = {
          getState: store.getState,
          dispatch: function dispatch() {
            return _dispatch.apply(void 0, arguments);
          }
        };
        var chain = middlewares.map(function(middleware) {
          return middleware(middlewareAPI);
        });
        _dispatch = compose.apply(void 0, chain)(store.dispatch);
        return _objectSpread2(_objectSpread2({}, store), {}, {
          dispatch: _dispatch
        });
      };
    };
  }

  // node_modules/@livechat/side-effects-middleware/es/index.js
  var es_default2 = (function() {
    var handlers = [];
    var sideEffectsMiddleware = function sideEffectsMiddleware2(store) {
      return function(next) {
        return function(action) {
          var result = next(action);
          handlers.forEach(function(handler) {
            handler(action, store);
          });
          return result;
        };
      };
    };
    sideEffectsMiddleware.add = function(handler) {
      handlers.push(handler);
    };
    return sideEffectsMiddleware;
  });

  // node_modules/@livechat/backoff/dist/backoff.esm.js
  var createBackoff = function createBackoff2(_ref2) {
    var _ref$min = _ref2.min, min = _ref$min === void 0 ? 1e3 : _ref$min, _ref$max = _ref2.max, max = _ref$max === void 0 ? 5e3 : _ref$max, _ref$jitter = _ref2.jitter, jitter = _ref$jitter === void 0 ? 0.5 : _ref$jitter;
    var attempts = 0;
    return {
      duration: function duration() {
        var ms = min * Math.pow(2, attempts++);
        if (jitter) {
          var rand = Math.random();
          var deviation = Math.floor(rand * jitter * ms);
          ms = (Math.floor(rand * 10) & 1) === 0 ? ms - deviation : ms + deviation;
        }
        return Math.min(ms, max) | 0;
      },
      reset: function reset() {
        attempts = 0;
      }
    };
  };
  var backoff_esm_default = createBackoff;

  // node_modules/@livechat/promise-utils/dist/promise-utils.esm.js
  function promiseTry(anyFunction) {
    return new Promise(function(resolve) {
      resolve(anyFunction());
    });
  }
  function promiseDeferred() {
    var deferred = {};
    deferred.promise = new Promise(function(resolve, reject) {
      deferred.resolve = resolve;
      deferred.reject = reject;
    });
    return deferred;
  }

  // node_modules/unfetch/dist/unfetch.module.js
  function unfetch_module_default(e, n) {
    return n = n || {}, new Promise(function(t, r) {
      var s = new XMLHttpRequest(), o = [], u = [], i = {}, a = function() {
        return { ok: 2 == (s.status / 100 | 0), statusText: s.statusText, status: s.status, url: s.responseURL, text: function() {
          return Promise.resolve(s.responseText);
        }, json: function() {
          return Promise.resolve(s.responseText).then(JSON.parse);
        }, blob: function() {
          return Promise.resolve(new Blob([s.response]));
        }, clone: a, headers: { keys: function() {
          return o;
        }, entries: function() {
          return u;
        }, get: function(e2) {
          return i[e2.toLowerCase()];
        }, has: function(e2) {
          return e2.toLowerCase() in i;
        } } };
      };
      for (var l in s.open(n.method || "get", e, true), s.onload = function() {
        s.getAllResponseHeaders().replace(/^(.*?):[^\S\n]*([\s\S]*?)$/gm, function(e2, n2, t2) {
          o.push(n2 = n2.toLowerCase()), u.push([n2, t2]), i[n2] = i[n2] ? i[n2] + "," + t2 : t2;
        }), t(a());
      }, s.onerror = r, s.withCredentials = "include" == n.credentials, n.headers) s.setRequestHeader(l, n.headers[l]);
      s.send(n.body || null);
    });
  }

  // node_modules/@livechat/websocket-manager/dist/websocket-manager.esm.js
  var CONNECTING = 0;
  var OPEN = 1;
  var CLOSED = 3;
  var readyStates = /* @__PURE__ */ Object.freeze({
    __proto__: null,
    CONNECTING,
    OPEN,
    CLOSED
  });
  var createWebSocketManager = function createWebSocketManager2(url, _temp) {
    var _ref2 = _temp === void 0 ? {} : _temp, _ref$query = _ref2.query, query = _ref$query === void 0 ? {} : _ref$query;
    var queryString = buildQueryString(query);
    var finalUrl = queryString ? url + "?" + queryString : url;
    var emitter = livechat_mitt_es_default();
    var backoff = backoff_esm_default({
      min: 1e3,
      max: 5e3,
      jitter: 0.5
    });
    var state = CLOSED;
    var reconnectTimer;
    var socket = null;
    var openListener = function openListener2() {
      state = OPEN;
      backoff.reset();
      emitter.emit("connect");
    };
    var closeListener = function closeListener2() {
      close();
      reconnect3();
      emitter.emit("disconnect");
    };
    var messageListener = function messageListener2(_ref22) {
      var data = _ref22.data;
      emitter.emit("message", data);
    };
    var addEventListeners = function addEventListeners2(instance) {
      instance.addEventListener("open", openListener);
      instance.addEventListener("close", closeListener);
      instance.addEventListener("message", messageListener);
    };
    var removeEventListeners = function removeEventListeners2(instance) {
      instance.removeEventListener("open", openListener);
      instance.removeEventListener("close", closeListener);
      instance.removeEventListener("message", messageListener);
    };
    var close = function close2() {
      clearTimeout(reconnectTimer);
      state = CLOSED;
      if (!socket) {
        return;
      }
      removeEventListeners(socket);
      socket.close();
      socket = null;
    };
    var connect = function connect2() {
      state = CONNECTING;
      socket = new WebSocket(finalUrl);
      addEventListeners(socket);
    };
    var reconnect3 = function reconnect4(delay3) {
      if (delay3 === void 0) {
        delay3 = backoff.duration();
      }
      close();
      if (delay3 === 0) {
        connect();
        return;
      }
      reconnectTimer = setTimeout(connect, delay3);
    };
    return {
      connect: (function(_connect) {
        function connect2() {
          return _connect.apply(this, arguments);
        }
        connect2.toString = function() {
          return _connect.toString();
        };
        return connect2;
      })(function() {
        if (state !== CLOSED) {
          throw new Error("Socket is already open or connecting.");
        }
        clearTimeout(reconnectTimer);
        connect();
      }),
      destroy: function destroy3() {
        emitter.off();
        close();
      },
      disconnect: close,
      reconnect: reconnect3,
      emit: function emit(data) {
        if (state !== OPEN) {
          throw new Error("Socket is not connected.");
        }
        socket.send(data);
      },
      getReadyState: function getReadyState() {
        return state;
      },
      on: emitter.on,
      off: emitter.off
    };
  };
  var websocket_manager_esm_default = createWebSocketManager;

  // node_modules/@livechat/platform-client/dist/platform-client.esm.js
  function _extends2() {
    _extends2 = Object.assign ? Object.assign.bind() : function(target) {
      for (var i = 1; i < arguments.length; i++) {
        var source = arguments[i];
        for (var key in source) {
          if (Object.prototype.hasOwnProperty.call(source, key)) {
            target[key] = source[key];
          }
        }
      }
      return target;
    };
    return _extends2.apply(this, arguments);
  }
  var createConnectionHero = function createConnectionHero2() {
    var resolve = noop;
    var timer;
    return {
      cancel: function cancel() {
        clearTimeout(timer);
        resolve = noop;
      },
      check: function check() {
        var deferred = promiseDeferred();
        resolve = deferred.resolve;
        timer = setTimeout(function() {
          var err = new Error("Timeout.");
          err.code = "TIMEOUT";
          deferred.reject(err);
        }, 2e3);
        return deferred.promise;
      },
      resolve: (function(_resolve) {
        function resolve2() {
          return _resolve.apply(this, arguments);
        }
        resolve2.toString = function() {
          return _resolve.toString();
        };
        return resolve2;
      })(function() {
        clearTimeout(timer);
        resolve();
      })
    };
  };
  var forwardEvents = function forwardEvents2(source, sink, types) {
    types.forEach(function(type) {
      source.on(type, function(data) {
        sink.emit(type, data);
      });
    });
  };
  var createPlatformClient = function createPlatformClient2(url, _temp) {
    var _ref2 = _temp === void 0 ? {} : _temp, _ref$query = _ref2.query, query = _ref$query === void 0 ? {} : _ref$query, _ref$emitter = _ref2.emitter, emitter = _ref$emitter === void 0 ? livechat_mitt_es_default() : _ref$emitter;
    var manager = websocket_manager_esm_default(url, {
      query
    });
    var connectionHero = createConnectionHero();
    var isSocketOpen = function isSocketOpen2() {
      return manager.getReadyState() === readyStates.OPEN;
    };
    var emit = function emit2(frame) {
      manager.emit(JSON.stringify(frame));
    };
    var cleanupPossiblyPendingTasks = function cleanupPossiblyPendingTasks2() {
      connectionHero.cancel();
    };
    forwardEvents(manager, emitter, ["connect", "disconnect"]);
    manager.on("disconnect", cleanupPossiblyPendingTasks);
    manager.on("message", function(data) {
      connectionHero.resolve();
      var message = JSON.parse(data);
      emitter.emit("message", message);
    });
    if (typeof window !== "undefined" && typeof window.addEventListener !== "undefined") {
      window.addEventListener("online", function() {
        if (!isSocketOpen()) {
          return;
        }
        connectionHero.check().then(function() {
          connectionHero.cancel();
          emitter.emit("connection_recovered");
        }, function(err) {
          connectionHero.cancel();
          if (err.code !== "TIMEOUT") {
            throw err;
          }
          manager.reconnect();
        });
      });
      window.addEventListener("offline", function() {
        connectionHero.cancel();
        if (!isSocketOpen()) {
          return;
        }
        emitter.emit("connection_unstable");
      });
    }
    return _extends2({}, manager, {
      destroy: function destroy3() {
        cleanupPossiblyPendingTasks();
        manager.destroy();
      },
      disconnect: function disconnect() {
        cleanupPossiblyPendingTasks();
        manager.disconnect();
      },
      reconnect: function reconnect3(delay3) {
        cleanupPossiblyPendingTasks();
        manager.reconnect(delay3);
      },
      emit,
      on: emitter.on,
      off: emitter.off
    });
  };
  var platform_client_esm_default = createPlatformClient;

  // node_modules/@livechat/file-upload/dist/file-upload.es.js
  var toFormData = function toFormData2(object) {
    var formData = new FormData();
    Object.keys(object).forEach(function(key) {
      return formData.append(key, object[key]);
    });
    return formData;
  };
  var UPLOAD_FAILED = "UPLOAD_FAILED";
  var UPLOAD_CANCELED = "UPLOAD_CANCELED";
  var uploadFile = function uploadFile2(url, data, _temp) {
    var _ref2 = _temp === void 0 ? {} : _temp, headers = _ref2.headers, _ref$method = _ref2.method, method = _ref$method === void 0 ? "POST" : _ref$method, onProgress = _ref2.onProgress, _ref$withCredentials = _ref2.withCredentials, withCredentials = _ref$withCredentials === void 0 ? false : _ref$withCredentials;
    var xhr = new XMLHttpRequest();
    var upload = new Promise(function(resolve, reject) {
      if (typeof onProgress === "function") {
        xhr.upload.onprogress = function(event) {
          onProgress(event.loaded / event.total);
        };
      }
      xhr.onload = function() {
        var response;
        try {
          response = JSON.parse(xhr.response);
        } catch (err2) {
          response = xhr.response;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(response);
          return;
        }
        var err = new Error("Upload failed.");
        err.code = UPLOAD_FAILED;
        err.response = response;
        reject(err);
      };
      xhr.onerror = function() {
        var err = new Error("Upload failed.");
        err.code = UPLOAD_FAILED;
        reject(err);
      };
      xhr.onabort = function() {
        var err = new Error("Upload canceled.");
        err.code = UPLOAD_CANCELED;
        reject(err);
      };
      xhr.open(method, url);
      xhr.withCredentials = withCredentials;
      if (headers) {
        Object.keys(headers).forEach(function(header) {
          return xhr.setRequestHeader(header, headers[header]);
        });
      }
      xhr.send(toFormData(data));
    });
    return {
      promise: upload,
      cancel: function cancel() {
        xhr.abort();
      }
    };
  };
  var file_upload_es_default = uploadFile;

  // node_modules/@livechat/customer-sdk/dist/customer-sdk.esm.js
  function _extends3() {
    _extends3 = Object.assign ? Object.assign.bind() : function(target) {
      for (var i = 1; i < arguments.length; i++) {
        var source = arguments[i];
        for (var key in source) {
          if (Object.prototype.hasOwnProperty.call(source, key)) {
            target[key] = source[key];
          }
        }
      }
      return target;
    };
    return _extends3.apply(this, arguments);
  }
  function _objectWithoutPropertiesLoose2(source, excluded) {
    if (source == null) return {};
    var target = {};
    var sourceKeys = Object.keys(source);
    var key, i;
    for (i = 0; i < sourceKeys.length; i++) {
      key = sourceKeys[i];
      if (excluded.indexOf(key) >= 0) continue;
      target[key] = source[key];
    }
    return target;
  }
  function _toPrimitive(input, hint) {
    if (typeof input !== "object" || input === null) return input;
    var prim = input[Symbol.toPrimitive];
    if (prim !== void 0) {
      var res = prim.call(input, hint || "default");
      if (typeof res !== "object") return res;
      throw new TypeError("@@toPrimitive must return a primitive value.");
    }
    return (hint === "string" ? String : Number)(input);
  }
  function _toPropertyKey(arg) {
    var key = _toPrimitive(arg, "string");
    return typeof key === "symbol" ? key : String(key);
  }
  var CHANGE_REGION = "change_region";
  var CHECK_GOALS = "check_goals";
  var DESTROY = "destroy";
  var FAIL_ALL_REQUESTS = "fail_all_requests";
  var LOGIN_SUCCESS = "login_success";
  var PAUSE_CONNECTION = "pause_connection";
  var PREFETCH_TOKEN = "prefetch_token";
  var PUSH_RECEIVED = "push_received";
  var PUSH_RESPONSE_RECEIVED = "push_response_received";
  var RECONNECT = "reconnect";
  var REQUEST_FAILED = "request_failed";
  var RESPONSE_RECEIVED = "response_received";
  var SEND_REQUEST = "send_request";
  var SET_CHAT_ACTIVE = "set_chat_active";
  var SET_SELF_ID = "set_self_id";
  var SOCKET_CONNECTED = "socket_connected";
  var SOCKET_DISCONNECTED = "socket_disconnected";
  var SOCKET_RECOVERED = "socket_recovered";
  var SOCKET_UNSTABLE = "socket_unstable";
  var START_CONNECTION = "start_connection";
  var UPDATE_CUSTOMER_PAGE = "update_customer_page";
  var CONNECTION_LOST = "CONNECTION_LOST";
  var IDENTITY_MISMATCH = "IDENTITY_MISMATCH";
  var MISDIRECTED_CONNECTION = "MISDIRECTED_CONNECTION";
  var MISSING_CHAT_THREAD = "MISSING_CHAT_THREAD";
  var NO_CONNECTION = "NO_CONNECTION";
  var REQUEST_TIMEOUT = "REQUEST_TIMEOUT";
  var SDK_DESTROYED = "SDK_DESTROYED";
  var SERVICE_TEMPORARILY_UNAVAILABLE = "SERVICE_TEMPORARILY_UNAVAILABLE";
  var TOO_BIG_FILE = "TOO_BIG_FILE";
  var ACCEPT_GREETING = "accept_greeting";
  var CANCEL_GREETING = "cancel_greeting";
  var CHECK_GOALS$1 = "check_goals";
  var DEACTIVATE_CHAT = "deactivate_chat";
  var DELETE_CHAT_PROPERTIES = "delete_chat_properties";
  var DELETE_EVENT_PROPERTIES = "delete_event_properties";
  var DELETE_THREAD_PROPERTIES = "delete_thread_properties";
  var GET_CHAT = "get_chat";
  var GET_CUSTOMER = "get_customer";
  var GET_FORM = "get_form";
  var GET_PREDICTED_AGENT = "get_predicted_agent";
  var GET_URL_INFO = "get_url_info";
  var LIST_CHATS = "list_chats";
  var LIST_GROUP_STATUSES = "list_group_statuses";
  var LIST_THREADS = "list_threads";
  var LOGIN = "login";
  var MARK_EVENTS_AS_SEEN = "mark_events_as_seen";
  var RESUME_CHAT = "resume_chat";
  var SEND_EVENT = "send_event";
  var SEND_RICH_MESSAGE_POSTBACK = "send_rich_message_postback";
  var SEND_SNEAK_PEEK = "send_sneak_peek";
  var SET_CUSTOMER_SESSION_FIELDS = "set_customer_session_fields";
  var START_CHAT = "start_chat";
  var UPDATE_CHAT_PROPERTIES = "update_chat_properties";
  var UPDATE_CUSTOMER = "update_customer";
  var UPDATE_CUSTOMER_PAGE$1 = "update_customer_page";
  var UPDATE_EVENT_PROPERTIES = "update_event_properties";
  var UPDATE_THREAD_PROPERTIES = "update_thread_properties";
  var UPLOAD_FILE = "upload_file";
  var createReducer = function createReducer2(initialState, reducersMap) {
    if (false) {
      console.warn(["Reducer contains an 'undefined' action type.", "Have you misspelled a constant?"].join("\n"));
    }
    return function reducer(state, action) {
      if (state === void 0) {
        state = initialState;
      }
      if (hasOwn(action.type, reducersMap)) {
        return reducersMap[action.type](state, action.payload);
      }
      return state;
    };
  };
  var CONNECTED = "connected";
  var DESTROYED = "destroyed";
  var DISCONNECTED = "disconnected";
  var PAUSED = "paused";
  var RECONNECTING = "reconnecting";
  var connectionStatuses = /* @__PURE__ */ Object.freeze({
    __proto__: null,
    CONNECTED,
    DESTROYED,
    DISCONNECTED,
    PAUSED,
    RECONNECTING
  });
  var AGENT = "agent";
  var CUSTOMER = "customer";
  var userTypes = /* @__PURE__ */ Object.freeze({
    __proto__: null,
    AGENT,
    CUSTOMER
  });
  var LIVECHAT_ORGANIZATION_ID = "feaf6c0e-9f43-48ff-9ad0-8e24e0350932";
  var getAllRequests = function getAllRequests2(state) {
    return state.requests;
  };
  var getConnectionStatus = function getConnectionStatus2(state) {
    return state.connection.status;
  };
  var getRequest = function getRequest2(state, id) {
    return state.requests[id];
  };
  var getSelfId = function getSelfId2(state) {
    return state.users.self.id;
  };
  var isChatActive = function isChatActive2(state, chatId) {
    var chat = state.chats[chatId];
    return !!chat && chat.active;
  };
  var isConnected = function isConnected2(state) {
    return getConnectionStatus(state) === CONNECTED;
  };
  var isDestroyed = function isDestroyed2(state) {
    return getConnectionStatus(state) === DESTROYED;
  };
  var getEnvPart = function getEnvPart2(_ref2) {
    var organizationId = _ref2.organizationId, env = _ref2.env;
    if (organizationId === LIVECHAT_ORGANIZATION_ID) {
      return ".staging";
    }
    if (env === "production") {
      return "";
    }
    return "." + env;
  };
  var getApiOrigin = function getApiOrigin2(state) {
    var region = state.region;
    var regionPart = region ? "-" + region : "";
    return "https://api" + regionPart + getEnvPart(state) + ".livechatinc.com";
  };
  var getServerUrl = function getServerUrl2(state) {
    return getApiOrigin(state) + "/v3.5/customer";
  };
  var createInitialState = function createInitialState2(initialStateData) {
    var _initialStateData$app = initialStateData.application, application = _initialStateData$app === void 0 ? {} : _initialStateData$app, organizationId = initialStateData.organizationId, _initialStateData$gro = initialStateData.groupId, groupId = _initialStateData$gro === void 0 ? null : _initialStateData$gro, env = initialStateData.env, _initialStateData$pag = initialStateData.page, page = _initialStateData$pag === void 0 ? null : _initialStateData$pag, _initialStateData$reg = initialStateData.region, region = _initialStateData$reg === void 0 ? null : _initialStateData$reg, _initialStateData$ref = initialStateData.referrer, referrer = _initialStateData$ref === void 0 ? null : _initialStateData$ref, _initialStateData$uni = initialStateData.uniqueGroups, uniqueGroups = _initialStateData$uni === void 0 ? false : _initialStateData$uni, _initialStateData$mob = initialStateData.mobile, mobile = _initialStateData$mob === void 0 ? false : _initialStateData$mob;
    return {
      application: _extends3({}, application, {
        name: "customer_sdk",
        version: "4.0.2"
      }),
      organizationId,
      env,
      groupId,
      chats: {},
      connection: {
        status: DISCONNECTED
      },
      page,
      region,
      referrer,
      requests: {},
      users: {
        self: {
          id: null,
          type: CUSTOMER
        },
        others: {}
      },
      uniqueGroups,
      mobile
    };
  };
  var removeStoredRequest = function removeStoredRequest2(state, _ref2) {
    var id = _ref2.id;
    var _state$requests = state.requests, requests = _objectWithoutPropertiesLoose2(_state$requests, [id].map(_toPropertyKey));
    return _extends3({}, state, {
      requests
    });
  };
  var setConnectionStatus = function setConnectionStatus2(status, state) {
    return _extends3({}, state, {
      connection: _extends3({}, state.connection, {
        status
      })
    });
  };
  var createReducer$1 = (function(state) {
    var _createReducer;
    return createReducer(state, (_createReducer = {}, _createReducer[CHANGE_REGION] = function(state2, _ref3) {
      var region = _ref3.region;
      return _extends3({}, state2, {
        region
      });
    }, _createReducer[DESTROY] = function(state2) {
      return setConnectionStatus(DESTROYED, state2);
    }, _createReducer[LOGIN_SUCCESS] = function(state2) {
      return setConnectionStatus(CONNECTED, state2);
    }, _createReducer[PAUSE_CONNECTION] = function(state2) {
      return setConnectionStatus(PAUSED, state2);
    }, _createReducer[REQUEST_FAILED] = removeStoredRequest, _createReducer[RESPONSE_RECEIVED] = removeStoredRequest, _createReducer[PUSH_RESPONSE_RECEIVED] = removeStoredRequest, _createReducer[SEND_REQUEST] = function(state2, _ref4) {
      var _extends22;
      var promise = _ref4.promise, resolve = _ref4.resolve, reject = _ref4.reject, id = _ref4.id, request = _ref4.request;
      return _extends3({}, state2, {
        requests: _extends3({}, state2.requests, (_extends22 = {}, _extends22[id] = {
          id,
          promise,
          resolve,
          reject,
          request
        }, _extends22))
      });
    }, _createReducer[SET_CHAT_ACTIVE] = function(state2, _ref5) {
      var _extends32;
      var id = _ref5.id, active = _ref5.active;
      return _extends3({}, state2, {
        chats: _extends3({}, state2.chats, (_extends32 = {}, _extends32[id] = _extends3({}, state2.chats[id], {
          active
        }), _extends32))
      });
    }, _createReducer[SET_SELF_ID] = function(state2, payload) {
      return _extends3({}, state2, {
        users: _extends3({}, state2.users, {
          self: _extends3({}, state2.users.self, {
            id: payload.id
          })
        })
      });
    }, _createReducer[SOCKET_DISCONNECTED] = function(state2) {
      var previousStatus = getConnectionStatus(state2);
      if (previousStatus === PAUSED || previousStatus === DESTROYED) {
        throw new Error("Got 'socket_disconnected' action when in " + previousStatus + " state. This should be an impossible state.");
      }
      var state1 = setConnectionStatus(previousStatus === DISCONNECTED ? DISCONNECTED : RECONNECTING, state2);
      return _extends3({}, state1, {
        requests: {}
      });
    }, _createReducer[UPDATE_CUSTOMER_PAGE] = function(state2, page) {
      return _extends3({}, state2, {
        page: _extends3({}, state2.page, page)
      });
    }, _createReducer));
  });
  function finalCreateStore(initialStateData) {
    var compose2 = typeof window !== "undefined" && window.__REDUX_DEVTOOLS_EXTENSION_COMPOSE__ ? window.__REDUX_DEVTOOLS_EXTENSION_COMPOSE__({
      name: "@livechat/customer-sdk"
    }) : identity;
    var sideEffectsMiddleware = es_default2();
    var store = createStore(createReducer$1(createInitialState(initialStateData)), compose2(applyMiddleware(sideEffectsMiddleware)));
    store.addSideEffectsHandler = sideEffectsMiddleware.add;
    return store;
  }
  function createError3(_ref2) {
    var message = _ref2.message, code = _ref2.code;
    var error = new Error(message);
    error.code = code;
    return error;
  }
  var ACCESS_TOKEN_EXPIRED = "access_token_expired";
  var CONNECTION_TIMEOUT = "connection_timeout";
  var CUSTOMER_BANNED = "customer_banned";
  var CUSTOMER_TEMPORARILY_BLOCKED = "customer_temporarily_blocked";
  var INACTIVITY_TIMEOUT = "inactivity_timeout";
  var INTERNAL_ERROR = "internal_error";
  var LICENSE_EXPIRED = "license_expired";
  var LICENSE_NOT_FOUND = "license_not_found";
  var MISDIRECTED_CONNECTION$1 = "misdirected_connection";
  var PRODUCT_VERSION_CHANGED = "product_version_changed";
  var SERVICE_TEMPORARILY_UNAVAILABLE$1 = "service_temporarily_unavailable";
  var TOO_MANY_CONNECTIONS = "too_many_connections";
  var TOO_MANY_UNAUTHORIZED_CONNECTIONS = "too_many_unauthorized_connections";
  var UNSUPPORTED_VERSION = "unsupported_version";
  var LOGGED_OUT_REMOTELY = "logged_out_remotely";
  var serverDisconnectionReasons = /* @__PURE__ */ Object.freeze({
    __proto__: null,
    ACCESS_TOKEN_EXPIRED,
    CONNECTION_TIMEOUT,
    CUSTOMER_BANNED,
    CUSTOMER_TEMPORARILY_BLOCKED,
    INACTIVITY_TIMEOUT,
    INTERNAL_ERROR,
    LICENSE_EXPIRED,
    LICENSE_NOT_FOUND,
    MISDIRECTED_CONNECTION: MISDIRECTED_CONNECTION$1,
    PRODUCT_VERSION_CHANGED,
    SERVICE_TEMPORARILY_UNAVAILABLE: SERVICE_TEMPORARILY_UNAVAILABLE$1,
    TOO_MANY_CONNECTIONS,
    TOO_MANY_UNAUTHORIZED_CONNECTIONS,
    UNSUPPORTED_VERSION,
    LOGGED_OUT_REMOTELY
  });
  var CHAT_DEACTIVATED = "chat_deactivated";
  var CHAT_PROPERTIES_DELETED = "chat_properties_deleted";
  var CHAT_PROPERTIES_UPDATED = "chat_properties_updated";
  var CHAT_TRANSFERRED = "chat_transferred";
  var CUSTOMER_DISCONNECTED = "customer_disconnected";
  var CUSTOMER_PAGE_UPDATED = "customer_page_updated";
  var CUSTOMER_SIDE_STORAGE_UPDATED = "customer_side_storage_updated";
  var CUSTOMER_UPDATED = "customer_updated";
  var EVENT_PROPERTIES_DELETED = "event_properties_deleted";
  var EVENT_PROPERTIES_UPDATED = "event_properties_updated";
  var EVENT_UPDATED = "event_updated";
  var EVENTS_MARKED_AS_SEEN = "events_marked_as_seen";
  var GREETING_ACCEPTED = "greeting_accepted";
  var GREETING_CANCELED = "greeting_canceled";
  var GROUPS_STATUS_UPDATED = "groups_status_updated";
  var INCOMING_CHAT = "incoming_chat";
  var INCOMING_EVENT = "incoming_event";
  var INCOMING_GREETING = "incoming_greeting";
  var INCOMING_MULTICAST = "incoming_multicast";
  var INCOMING_RICH_MESSAGE_POSTBACK = "incoming_rich_message_postback";
  var INCOMING_TYPING_INDICATOR = "incoming_typing_indicator";
  var QUEUE_POSITION_UPDATED = "queue_position_updated";
  var THREAD_PROPERTIES_DELETED = "thread_properties_deleted";
  var THREAD_PROPERTIES_UPDATED = "thread_properties_updated";
  var USER_ADDED_TO_CHAT = "user_added_to_chat";
  var USER_REMOVED_FROM_CHAT = "user_removed_from_chat";
  var serverPushActions = /* @__PURE__ */ Object.freeze({
    __proto__: null,
    CHAT_DEACTIVATED,
    CHAT_PROPERTIES_DELETED,
    CHAT_PROPERTIES_UPDATED,
    CHAT_TRANSFERRED,
    CUSTOMER_DISCONNECTED,
    CUSTOMER_PAGE_UPDATED,
    CUSTOMER_SIDE_STORAGE_UPDATED,
    CUSTOMER_UPDATED,
    EVENT_PROPERTIES_DELETED,
    EVENT_PROPERTIES_UPDATED,
    EVENT_UPDATED,
    EVENTS_MARKED_AS_SEEN,
    GREETING_ACCEPTED,
    GREETING_CANCELED,
    GROUPS_STATUS_UPDATED,
    INCOMING_CHAT,
    INCOMING_EVENT,
    INCOMING_GREETING,
    INCOMING_MULTICAST,
    INCOMING_RICH_MESSAGE_POSTBACK,
    INCOMING_TYPING_INDICATOR,
    QUEUE_POSITION_UPDATED,
    THREAD_PROPERTIES_DELETED,
    THREAD_PROPERTIES_UPDATED,
    USER_ADDED_TO_CHAT,
    USER_REMOVED_FROM_CHAT
  });
  var FILE = "file";
  var FORM = "form";
  var FILLED_FORM = "filled_form";
  var MESSAGE = "message";
  var RICH_MESSAGE = "rich_message";
  var SYSTEM_MESSAGE = "system_message";
  var CUSTOM = "custom";
  var eventTypes = /* @__PURE__ */ Object.freeze({
    __proto__: null,
    FILE,
    FORM,
    FILLED_FORM,
    MESSAGE,
    RICH_MESSAGE,
    SYSTEM_MESSAGE,
    CUSTOM
  });
  var createEventBase = function createEventBase2(event) {
    var base = {};
    if (typeof event.customId === "string") {
      base.custom_id = event.customId;
    }
    if (isObject(event.properties)) {
      base.properties = event.properties;
    }
    return base;
  };
  var parseEvent = function parseEvent2(event) {
    switch (event.type) {
      case MESSAGE: {
        var message = _extends3({}, createEventBase(event), {
          type: event.type,
          text: event.text
        });
        if (event.postback) {
          message.postback = {
            id: event.postback.id,
            thread_id: event.postback.threadId,
            event_id: event.postback.eventId,
            type: event.postback.type,
            value: event.postback.value
          };
        }
        return message;
      }
      case FILE: {
        var file = _extends3({}, createEventBase(event), {
          type: event.type,
          url: event.url,
          alternative_text: event.alternativeText
        });
        return file;
      }
      case FILLED_FORM: {
        var filledForm = _extends3({}, createEventBase(event), {
          type: event.type,
          form_id: event.formId,
          fields: event.fields.map(function(field) {
            switch (field.type) {
              case "group_chooser": {
                if (!field.answer) {
                  return field;
                }
                var _field$answer = field.answer, groupId = _field$answer.groupId, answer = _objectWithoutPropertiesLoose2(_field$answer, ["groupId"]);
                return _extends3({}, field, {
                  answer: _extends3({}, answer, {
                    group_id: groupId
                  })
                });
              }
              default:
                return field;
            }
          })
        });
        return filledForm;
      }
      case SYSTEM_MESSAGE: {
        var systemMessage = _extends3({}, createEventBase(event), {
          type: event.type,
          text: event.text,
          system_message_type: event.systemMessageType
        });
        if (event.recipients) {
          systemMessage.recipients = event.recipients;
        }
        return systemMessage;
      }
      case CUSTOM: {
        var customEvent = _extends3({}, createEventBase(event), {
          type: event.type
        });
        if (event.content) {
          customEvent.content = event.content;
        }
        return customEvent;
      }
    }
  };
  var parseThreadData = function parseThreadData2(thread) {
    var data = {};
    var events = thread.events, properties = thread.properties;
    if (events) {
      data.events = events.map(parseEvent);
    }
    if (properties) {
      data.properties = properties;
    }
    return data;
  };
  var parseStartChatData = function parseStartChatData2(_ref2) {
    var _ref$active = _ref2.active, active = _ref$active === void 0 ? true : _ref$active, chat = _ref2.chat, continuous = _ref2.continuous;
    var data = {
      active,
      chat: {}
    };
    if (typeof continuous === "boolean") {
      data.continuous = continuous;
    }
    if (!chat) {
      return data;
    }
    var access = chat.access, thread = chat.thread, properties = chat.properties;
    if (access && access.groupIds) {
      data.chat.access = {
        group_ids: access.groupIds
      };
    }
    if (properties) {
      data.chat.properties = properties;
    }
    if (thread) {
      data.chat.thread = parseThreadData(thread);
    }
    return data;
  };
  var parseResumeChatData = function parseResumeChatData2(requestData) {
    var data = parseStartChatData(requestData);
    return _extends3({}, data, {
      chat: _extends3({}, data.chat, {
        id: requestData.chat.id
      })
    });
  };
  var parseCustomerSessionFields = function parseCustomerSessionFields2(sessionFields) {
    return toPairs(sessionFields).map(function(_ref2) {
      var _ref3;
      var key = _ref2[0], value = _ref2[1];
      return _ref3 = {}, _ref3[key] = value, _ref3;
    });
  };
  var parseCustomerUpdate = function parseCustomerUpdate2(update) {
    var result = pickOwn(["avatar", "name", "email"], update);
    if (update.sessionFields) {
      result.session_fields = parseCustomerSessionFields(update.sessionFields);
    }
    return result;
  };
  var destroy = function destroy2(reason) {
    return {
      type: DESTROY,
      payload: {
        reason
      }
    };
  };
  var loginSuccess = function loginSuccess2(payload) {
    return {
      type: LOGIN_SUCCESS,
      payload
    };
  };
  var pauseConnection = function pauseConnection2(reason) {
    return {
      type: PAUSE_CONNECTION,
      payload: {
        reason
      }
    };
  };
  var prefetchToken = function prefetchToken2(fresh) {
    if (fresh === void 0) {
      fresh = false;
    }
    return {
      type: PREFETCH_TOKEN,
      payload: {
        fresh
      }
    };
  };
  var reconnect = function reconnect2(delay3) {
    return {
      type: RECONNECT,
      payload: {
        delay: delay3
      }
    };
  };
  var sendRequest = function sendRequest2(action, payload, source) {
    return {
      type: SEND_REQUEST,
      payload: _extends3({
        request: {
          action,
          payload
        }
      }, source && {
        source
      })
    };
  };
  var sendEvent = function sendEvent2(_ref2) {
    var chatId = _ref2.chatId, event = _ref2.event, attachToLastThread = _ref2.attachToLastThread;
    var payload = {
      chat_id: chatId,
      event: parseEvent(event)
    };
    if (attachToLastThread) {
      payload.attach_to_last_thread = true;
    }
    return sendRequest(SEND_EVENT, payload);
  };
  var setChatActive = function setChatActive2(id, active) {
    return {
      type: SET_CHAT_ACTIVE,
      payload: {
        id,
        active
      }
    };
  };
  var setSelfId = function setSelfId2(id) {
    return {
      type: SET_SELF_ID,
      payload: {
        id
      }
    };
  };
  var socketDisconnected = function socketDisconnected2() {
    return {
      type: SOCKET_DISCONNECTED
    };
  };
  var sendRequestAction = function sendRequestAction2(store, action) {
    action.payload.id = generateUniqueId(store.getState().requests);
    var _promiseDeferred = promiseDeferred(), resolve = _promiseDeferred.resolve, reject = _promiseDeferred.reject, promise = _promiseDeferred.promise;
    action.payload.promise = promise;
    action.payload.resolve = resolve;
    action.payload.reject = reject;
    store.dispatch(action);
    return promise;
  };
  var AUTHENTICATION = "AUTHENTICATION";
  var AUTHORIZATION = "AUTHORIZATION";
  var CHAT_ALREADY_ACTIVE = "CHAT_ALREADY_ACTIVE";
  var CHAT_LIMIT_REACHED = "CHAT_LIMIT_REACHED";
  var CUSTOMER_BANNED$1 = "CUSTOMER_BANNED";
  var CUSTOMER_SESSION_FIELDS_LIMIT_REACHED = "CUSTOMER_SESSION_FIELDS_LIMIT_REACHED";
  var ENTITY_TOO_LARGE = "ENTITY_TOO_LARGE";
  var GREETING_NOT_FOUND = "GREETING_NOT_FOUND";
  var GROUP_OFFLINE = "GROUP_OFFLINE";
  var GROUPS_OFFLINE = "GROUPS_OFFLINE";
  var GROUP_NOT_FOUND = "GROUP_NOT_FOUND";
  var GROUP_UNAVAILABLE = "GROUP_UNAVAILABLE";
  var INTERNAL = "INTERNAL";
  var LICENSE_EXPIRED$1 = "LICENSE_EXPIRED";
  var MISDIRECTED_REQUEST = "MISDIRECTED_REQUEST";
  var PENDING_REQUESTS_LIMIT_REACHED = "PENDING_REQUESTS_LIMIT_REACHED";
  var REQUEST_TIMEOUT$1 = "REQUEST_TIMEOUT";
  var SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE";
  var UNSUPPORTED_VERSION$1 = "UNSUPPORTED_VERSION";
  var USERS_LIMIT_REACHED = "USERS_LIMIT_REACHED";
  var VALIDATION = "VALIDATION";
  var WRONG_PRODUCT_VERSION = "WRONG_PRODUCT_VERSION";
  var serverErrorCodes = /* @__PURE__ */ Object.freeze({
    __proto__: null,
    AUTHENTICATION,
    AUTHORIZATION,
    CHAT_ALREADY_ACTIVE,
    CHAT_LIMIT_REACHED,
    CUSTOMER_BANNED: CUSTOMER_BANNED$1,
    CUSTOMER_SESSION_FIELDS_LIMIT_REACHED,
    ENTITY_TOO_LARGE,
    GREETING_NOT_FOUND,
    GROUP_OFFLINE,
    GROUPS_OFFLINE,
    GROUP_NOT_FOUND,
    GROUP_UNAVAILABLE,
    INTERNAL,
    LICENSE_EXPIRED: LICENSE_EXPIRED$1,
    MISDIRECTED_REQUEST,
    PENDING_REQUESTS_LIMIT_REACHED,
    REQUEST_TIMEOUT: REQUEST_TIMEOUT$1,
    SERVICE_UNAVAILABLE,
    UNSUPPORTED_VERSION: UNSUPPORTED_VERSION$1,
    USERS_LIMIT_REACHED,
    VALIDATION,
    WRONG_PRODUCT_VERSION
  });
  var getSideStorageKeyByLicense = function getSideStorageKeyByLicense2(store, licenseId) {
    var _store$getState = store.getState(), groupId = _store$getState.groupId, uniqueGroups = _store$getState.uniqueGroups;
    return "side_storage_" + licenseId + (uniqueGroups ? ":" + groupId : "");
  };
  var getSideStorageKeyByOrganization = function getSideStorageKeyByOrganization2(store) {
    var _store$getState2 = store.getState(), organizationId = _store$getState2.organizationId, groupId = _store$getState2.groupId, uniqueGroups = _store$getState2.uniqueGroups;
    return "side_storage_" + organizationId + (uniqueGroups ? ":" + groupId : "");
  };
  var getSideStorage = function getSideStorage2(store, licenseId) {
    var sideStorageLicenseKey = getSideStorageKeyByLicense(store, licenseId);
    var sideStorageOrganizationKey = getSideStorageKeyByOrganization(store);
    return isomorphic_storage_es_default.getItem(sideStorageLicenseKey)["catch"](noop).then(function(sideStorage) {
      if (!sideStorage) {
        return isomorphic_storage_es_default.getItem(sideStorageOrganizationKey)["catch"](noop).then(function(organizationSideStorage) {
          return JSON.parse(organizationSideStorage || "{}");
        })["catch"](noop);
      }
      return isomorphic_storage_es_default.setItem(sideStorageOrganizationKey, sideStorage)["catch"](noop).then(function() {
        return isomorphic_storage_es_default.removeItem(sideStorageLicenseKey)["catch"](noop).then(function() {
          return JSON.parse(sideStorage);
        })["catch"](noop);
      });
    })["catch"](noop);
  };
  var saveSideStorage = function saveSideStorage2(store, sideStorage) {
    isomorphic_storage_es_default.setItem(getSideStorageKeyByOrganization(store), JSON.stringify(sideStorage))["catch"](noop);
  };
  var taskChain = function taskChain2(_ref2, onSuccess, onError) {
    var steps = _ref2.slice(0);
    var cancelled = false;
    var next = function next2(intermediateResult) {
      var step = steps.shift();
      promiseTry(function() {
        return step(intermediateResult);
      }).then(function(result) {
        if (cancelled) {
          return;
        }
        if (steps.length) {
          next2(result);
          return;
        }
        onSuccess(result);
      }, function(error) {
        if (cancelled) {
          return;
        }
        onError(error);
      });
    };
    next();
    return {
      cancel: function cancel() {
        cancelled = true;
      }
    };
  };
  var sendLoginFlowRequest = function sendLoginFlowRequest2(store, type, payload) {
    return sendRequestAction(store, sendRequest(type, payload, "login"));
  };
  var delay = function delay2(ms) {
    return new Promise(function(resolve) {
      setTimeout(resolve, ms);
    });
  };
  function createLoginTask(auth, customerDataProvider, licenseId) {
    var store;
    var sentPage = null;
    var task;
    var backoffConfig = {
      min: 300,
      max: 6e4,
      jitter: 0.3
    };
    var defaultBackoffStrategy = backoff_esm_default(backoffConfig);
    var slowerBackoffStrategy = backoff_esm_default(_extends3({}, backoffConfig, {
      min: 1e3
    }));
    var currentBackoffStrategy = defaultBackoffStrategy;
    var destroy$1 = function destroy$12(reason) {
      return store.dispatch(destroy(reason));
    };
    var reconnect$1 = function reconnect$12() {
      return store.dispatch(reconnect(currentBackoffStrategy.duration()));
    };
    var getTokenAndSideStorage = function getTokenAndSideStorage2() {
      return Promise.all([auth.getToken(), getSideStorage(store, licenseId)]);
    };
    var dispatchSelfId = function dispatchSelfId2(_ref2) {
      var token = _ref2[0], sideStorage = _ref2[1];
      var selfId = getSelfId(store.getState());
      if (selfId === null) {
        store.dispatch(setSelfId(token.entityId));
      } else if (selfId !== token.entityId) {
        var err = new Error("Identity has changed.");
        err.code = IDENTITY_MISMATCH;
        throw err;
      }
      return [token, sideStorage];
    };
    var _sendLogin = function sendLogin(_ref3) {
      var token = _ref3[0], sideStorage = _ref3[1];
      var state = store.getState();
      var application = state.application, groupId = state.groupId, page = state.page, referrer = state.referrer, mobile = state.mobile;
      var payload = {
        token: token.tokenType + " " + token.accessToken,
        customer: typeof customerDataProvider === "function" ? parseCustomerUpdate(customerDataProvider()) : {},
        customer_side_storage: sideStorage,
        is_mobile: mobile,
        application: pick(["name", "version"], application)
      };
      if (typeof groupId === "number") {
        payload.group_id = groupId;
      }
      if (application.channelType) {
        payload.application.channel_type = application.channelType;
      }
      if (page !== null) {
        sentPage = page;
        payload.customer_page = page;
      }
      if (referrer !== null) {
        payload.referrer = referrer;
      }
      return Promise.race([sendLoginFlowRequest(store, LOGIN, payload), delay(15 * 1e3).then(function() {
        return Promise.reject(createError3({
          message: "Request timed out.",
          code: REQUEST_TIMEOUT
        }));
      })]);
    };
    var updateCustomerPageIfNeeded = function updateCustomerPageIfNeeded2() {
      var _store$getState = store.getState(), page = _store$getState.page;
      if (sentPage !== page) {
        sendLoginFlowRequest(store, UPDATE_CUSTOMER_PAGE$1, page)["catch"](noop);
      }
      sentPage = null;
    };
    return {
      sendLogin: function sendLogin(_store) {
        var _task;
        store = _store;
        (_task = task) == null ? void 0 : _task.cancel();
        task = taskChain([getTokenAndSideStorage, dispatchSelfId, _sendLogin], function(loginResponse) {
          task = null;
          defaultBackoffStrategy.reset();
          slowerBackoffStrategy.reset();
          currentBackoffStrategy = defaultBackoffStrategy;
          updateCustomerPageIfNeeded();
          store.dispatch(loginSuccess(loginResponse));
        }, function(error) {
          task = null;
          if (true) {
            console.error("[Customer SDK] Login flow has thrown code", error.code, "with", error);
          }
          switch (error.code) {
            case AUTHENTICATION:
              auth.getFreshToken();
              reconnect$1();
              return;
            case CONNECTION_LOST:
              return;
            case MISDIRECTED_CONNECTION:
              return;
            case SDK_DESTROYED:
              return;
            // those are auth errors, we should maybe export those constants from the auth package
            case "SSO_IDENTITY_EXCEPTION":
            case "SSO_OAUTH_EXCEPTION":
              if (error.message === "server_error" || error.message === "temporarily_unavailable") {
                reconnect$1();
                return;
              }
              destroy$1(error.message);
              return;
            case USERS_LIMIT_REACHED:
              store.dispatch(pauseConnection(error.code.toLowerCase()));
              return;
            case IDENTITY_MISMATCH:
            case CUSTOMER_BANNED$1:
            case WRONG_PRODUCT_VERSION:
              destroy$1(error.code.toLowerCase());
              return;
            case SERVICE_TEMPORARILY_UNAVAILABLE:
              currentBackoffStrategy = slowerBackoffStrategy;
              reconnect$1();
              return;
            default:
              reconnect$1();
              return;
          }
        });
      },
      cancel: function cancel() {
        var _task2;
        (_task2 = task) == null ? void 0 : _task2.cancel();
      }
    };
  }
  var checkGoals = function checkGoals2(store, auth, sessionFields) {
    return auth.getToken().then(function(token) {
      var state = store.getState();
      if (getSelfId(state) === null) {
        store.dispatch(setSelfId(token.entityId));
      }
      var page = state.page;
      if (!page || !page.url) {
        return;
      }
      var query = buildQueryString({
        organization_id: state.organizationId
      });
      var payload = {
        session_fields: parseCustomerSessionFields(sessionFields || {}),
        group_id: state.groupId || 0,
        page_url: page.url
      };
      return unfetch_module_default(getServerUrl(state) + "/action/" + CHECK_GOALS$1 + "?" + query, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: token.tokenType + " " + token.accessToken
        },
        body: JSON.stringify(payload)
      }).then(function() {
        return void 0;
      });
    });
  };
  var failAllRequests = function failAllRequests2(_ref2, reason) {
    var getState = _ref2.getState, dispatch = _ref2.dispatch;
    var state = getState();
    var requests = getAllRequests(state);
    dispatch({
      type: FAIL_ALL_REQUESTS,
      payload: {
        rejects: Object.keys(requests).map(function(requestId) {
          return requests[requestId].reject;
        }),
        reason
      }
    });
  };
  var failRequest = function failRequest2(_ref2, requestAction, error) {
    var getState = _ref2.getState, dispatch = _ref2.dispatch;
    var requestId = requestAction.payload.id;
    dispatch({
      type: REQUEST_FAILED,
      payload: {
        id: requestId,
        reject: getState().requests[requestId].reject,
        error
      }
    });
  };
  var SUCCESS = Object.freeze({
    success: true
  });
  var parseCommonEventProps = function parseCommonEventProps2(threadId, event) {
    var parsed = {
      id: event.id,
      authorId: event.author_id,
      createdAt: event.created_at,
      threadId,
      properties: event.properties || {}
    };
    if (event.custom_id !== void 0) {
      parsed.customId = event.custom_id;
    }
    return parsed;
  };
  var downsizeWithRatio = function downsizeWithRatio2(max, dimensions) {
    var _ref2;
    var biggerProp;
    var smallerProp;
    var bigger;
    var smaller;
    if (dimensions.height > dimensions.width) {
      biggerProp = "height";
      smallerProp = "width";
      bigger = dimensions.height;
      smaller = dimensions.width;
    } else {
      biggerProp = "width";
      smallerProp = "height";
      bigger = dimensions.width;
      smaller = dimensions.height;
    }
    var ratio = max / bigger;
    return _ref2 = {}, _ref2[biggerProp] = Math.ceil(Math.min(bigger, max)), _ref2[smallerProp] = Math.ceil(Math.min(ratio * smaller, smaller)), _ref2;
  };
  var parseImage = function parseImage2(thread, image) {
    return _extends3({}, parseCommonEventProps(thread, image), {
      type: FILE,
      contentType: image.content_type,
      url: image.url,
      name: image.name,
      width: image.width,
      height: image.height,
      thumbnails: {
        "default": _extends3({
          url: image.thumbnail_url
        }, downsizeWithRatio(300, image)),
        high: _extends3({
          url: image.thumbnail2x_url
        }, downsizeWithRatio(600, image))
      }
    }, image.alternative_text && {
      alternativeText: image.alternative_text
    });
  };
  var parseFile = function parseFile2(thread, file) {
    if (file.width !== void 0 && file.height !== void 0) {
      return parseImage(thread, file);
    }
    return _extends3({}, parseCommonEventProps(thread, file), {
      type: FILE,
      contentType: file.content_type,
      url: file.url,
      name: file.name
    });
  };
  var parseForm = function parseForm2(thread, form) {
    return _extends3({}, parseCommonEventProps(thread, form), {
      authorId: "system",
      type: FORM,
      formId: form.form_id,
      fields: form.fields
    });
  };
  var parseFilledForm = function parseFilledForm2(thread, filledForm) {
    return _extends3({}, parseCommonEventProps(thread, filledForm), {
      type: FILLED_FORM,
      formId: filledForm.form_id,
      fields: filledForm.fields.map(function(field) {
        switch (field.type) {
          case "group_chooser": {
            if (!field.answer) {
              return field;
            }
            var _field$answer = field.answer, groupId = _field$answer.group_id, answer = _objectWithoutPropertiesLoose2(_field$answer, ["group_id"]);
            return _extends3({}, field, {
              answer: _extends3({}, answer, {
                groupId
              })
            });
          }
          default:
            return field;
        }
      })
    });
  };
  var parseMessage = function parseMessage2(thread, message) {
    return _extends3({}, parseCommonEventProps(thread, message), {
      type: MESSAGE,
      text: message.text
    });
  };
  var parseCustomEvent = function parseCustomEvent2(thread, event) {
    return _extends3({}, parseCommonEventProps(thread, event), {
      type: CUSTOM
    }, event.content && {
      content: event.content
    });
  };
  var parseRichMessageElement = function parseRichMessageElement2(element) {
    var parsed = {};
    if (typeof element.title === "string") {
      parsed.title = element.title;
    }
    if (typeof element.subtitle === "string") {
      parsed.subtitle = element.subtitle;
    }
    if (element.image) {
      var image = element.image;
      parsed.image = _extends3({
        url: image.url,
        name: image.name
      }, image.alternative_text && {
        alternativeText: image.alternative_text
      });
    }
    if (element.buttons) {
      parsed.buttons = element.buttons.map(function(serverButton) {
        switch (serverButton.type) {
          case "message":
          case "phone": {
            return {
              type: serverButton.type,
              text: serverButton.text,
              postbackId: serverButton.postback_id,
              userIds: serverButton.user_ids,
              value: serverButton.value,
              role: serverButton.role || "default"
            };
          }
          case "cancel": {
            return {
              type: serverButton.type,
              text: serverButton.text,
              postbackId: serverButton.postback_id,
              userIds: serverButton.user_ids,
              role: serverButton.role || "default"
            };
          }
          case "url": {
            var button = {
              type: serverButton.type,
              text: serverButton.text,
              postbackId: serverButton.postback_id,
              userIds: serverButton.user_ids,
              value: serverButton.value,
              role: serverButton.role || "default"
            };
            if (serverButton.target) {
              button.target = serverButton.target;
            }
            return button;
          }
          case "webview": {
            var _button = {
              type: serverButton.type,
              text: serverButton.text,
              postbackId: serverButton.postback_id,
              userIds: serverButton.user_ids,
              value: serverButton.value,
              role: serverButton.role || "default"
            };
            if (typeof serverButton.webview_height === "string") {
              _button.webviewHeight = serverButton.webview_height;
            }
            return _button;
          }
          default: {
            return {
              text: serverButton.text,
              postbackId: serverButton.postback_id,
              userIds: serverButton.user_ids,
              role: serverButton.role || "default"
            };
          }
        }
      });
    }
    return parsed;
  };
  var parseRichMessage = function parseRichMessage2(thread, richMessage) {
    switch (richMessage.template_id) {
      case "cards":
      case "quick_replies":
      case "sticker":
        return _extends3({}, parseCommonEventProps(thread, richMessage), {
          type: RICH_MESSAGE,
          template: richMessage.template_id,
          elements: richMessage.elements.map(parseRichMessageElement)
        });
      default:
        return null;
    }
  };
  var parseSystemMessage = function parseSystemMessage2(thread, systemMessage) {
    var parsed = _extends3({}, parseCommonEventProps(thread, _extends3({}, systemMessage, {
      author_id: "system"
    })), {
      type: SYSTEM_MESSAGE,
      text: systemMessage.text,
      systemMessageType: systemMessage.system_message_type
    });
    if (systemMessage.text_vars) {
      parsed.textVars = systemMessage.text_vars;
    }
    return parsed;
  };
  var parseEvent$1 = function parseEvent3(thread, event) {
    switch (event.type) {
      case FILE:
        return parseFile(thread, event);
      case FORM:
        return parseForm(thread, event);
      case FILLED_FORM:
        return parseFilledForm(thread, event);
      case MESSAGE:
        return parseMessage(thread, event);
      case RICH_MESSAGE:
        return parseRichMessage(thread, event);
      case SYSTEM_MESSAGE:
        return parseSystemMessage(thread, event);
      case CUSTOM:
        return parseCustomEvent(thread, event);
      default:
        return null;
    }
  };
  var parseGreeting = function parseGreeting2(greeting) {
    return {
      id: greeting.id,
      addon: greeting.addon || null,
      uniqueId: greeting.unique_id,
      displayedFirstTime: greeting.displayed_first_time,
      accepted: greeting.accepted || false,
      subtype: greeting.subtype || "greeting",
      // threadId is typed as nonoptional string but for greetings it doesn't exist
      event: parseEvent$1(null, greeting.event),
      agent: {
        id: greeting.agent.id,
        name: greeting.agent.name,
        avatar: greeting.agent.avatar,
        jobTitle: greeting.agent.job_title,
        isBot: greeting.agent.is_bot || false
      }
    };
  };
  var parseCustomerSessionFields$1 = function parseCustomerSessionFields3(sessionFields) {
    return sessionFields.reduce(function(acc, field) {
      var _Object$keys = Object.keys(field), key = _Object$keys[0];
      acc[key] = field[key];
      return acc;
    }, {});
  };
  var parseAccess = function parseAccess2(access) {
    if (access === void 0) {
      access = {};
    }
    return access.group_ids ? {
      groupIds: access.group_ids
    } : {};
  };
  var getEventsSeenUpToMap = function getEventsSeenUpToMap2(users) {
    return mapValues(function(user) {
      return user.events_seen_up_to ? user.events_seen_up_to : null;
    }, keyBy("id", users));
  };
  var parseThread = function parseThread2(chatId, thread) {
    var properties = thread.properties || {};
    return {
      id: thread.id,
      chatId,
      active: thread.active,
      access: parseAccess(thread.access),
      createdAt: thread.created_at,
      userIds: thread.user_ids,
      events: thread.events.map(function(event) {
        return parseEvent$1(thread.id, event);
      }).filter(Boolean),
      properties,
      previousThreadId: thread.previous_thread_id || null,
      nextThreadId: thread.next_thread_id || null,
      queue: thread.queue ? parseQueue(thread.queue) : null
    };
  };
  var parseChatCommon = function parseChatCommon2(chat) {
    return {
      id: chat.id,
      access: parseAccess(chat.access),
      users: chat.users.map(parseChatUser),
      properties: chat.properties || {},
      eventsSeenUpToMap: getEventsSeenUpToMap(chat.users)
    };
  };
  var parseChatAgent = function parseChatAgent2(agent) {
    return {
      id: agent.id,
      // keep literal here, so every non-customer gets treated as agent
      // currently there are only 2 types of users - customer & agent (bots have type: "agent")
      // so this is purely defensive measure, trying to stay future-proof
      type: AGENT,
      name: agent.name,
      avatar: agent.avatar,
      jobTitle: agent.job_title,
      present: agent.present
    };
  };
  var parseCustomerOptionalProps = function parseCustomerOptionalProps2(customerProps) {
    var optionalProps = pickOwn(["avatar", "email", "name"], customerProps);
    if (customerProps.session_fields) {
      optionalProps.sessionFields = parseCustomerSessionFields$1(customerProps.session_fields);
    }
    return optionalProps;
  };
  var parseCustomerCommonProps = function parseCustomerCommonProps2(customer) {
    var optionalProps = parseCustomerOptionalProps(customer);
    return _extends3({
      id: customer.id,
      type: CUSTOMER
    }, optionalProps, {
      sessionFields: optionalProps.sessionFields || {}
    });
  };
  var parseChatCustomer = function parseChatCustomer2(customer) {
    return _extends3({}, parseCustomerCommonProps(customer), {
      present: customer.present
    });
  };
  var parseCustomer = function parseCustomer2(customer) {
    var statistics = customer.statistics;
    return _extends3({}, parseCustomerCommonProps(customer), {
      statistics: {
        chatsCount: statistics.chats_count,
        threadsCount: statistics.threads_count,
        visitsCount: statistics.visits_count,
        pageViewsCount: statistics.page_views_count,
        greetingsShownCount: statistics.greetings_shown_count,
        greetingsAcceptedCount: statistics.greetings_accepted_count
      }
    });
  };
  var parsePredictedAgent = function parsePredictedAgent2(payload) {
    var agent = payload.agent, queue = payload.queue;
    return {
      agent: {
        id: agent.id,
        type: AGENT,
        name: agent.name,
        avatar: agent.avatar,
        jobTitle: agent.job_title,
        isBot: agent.is_bot
      },
      queue
    };
  };
  var parseQueueUpdate = function parseQueueUpdate2(queueUpdate) {
    return {
      position: queueUpdate.position,
      waitTime: queueUpdate.wait_time
    };
  };
  var parseQueue = function parseQueue2(queue) {
    return _extends3({}, parseQueueUpdate(queue), {
      queuedAt: queue.queued_at
    });
  };
  var parseChatUser = function parseChatUser2(user) {
    return user.type === CUSTOMER ? parseChatCustomer(user) : parseChatAgent(user);
  };
  var parseGroupStatus = function parseGroupStatus2(status) {
    return status === "offline" ? "offline" : "online";
  };
  var _FAIL_ALL_REQUESTS_ME;
  var SMALL_RECONNECT_DELAY = 100;
  var FAIL_ALL_REQUESTS_MESSAGES = (_FAIL_ALL_REQUESTS_ME = {}, _FAIL_ALL_REQUESTS_ME[CONNECTION_LOST] = "Connection lost.", _FAIL_ALL_REQUESTS_ME[MISDIRECTED_CONNECTION] = "Connected to wrong region.", _FAIL_ALL_REQUESTS_ME);
  var updateStateIfNeeded = function updateStateIfNeeded2(store, action) {
    var state = store.getState();
    switch (action.type) {
      case PUSH_RESPONSE_RECEIVED:
      case PUSH_RECEIVED:
        switch (action.payload.action) {
          case CHAT_DEACTIVATED:
            store.dispatch(setChatActive(action.payload.payload.chatId, false));
            return;
          case INCOMING_CHAT:
            store.dispatch(setChatActive(action.payload.payload.chat.id, true));
            return;
          default:
            return;
        }
      case RESPONSE_RECEIVED:
        switch (action.payload.action) {
          case LIST_CHATS:
            action.payload.payload.chatsSummary.filter(function(_ref2) {
              var id = _ref2.id, active = _ref2.active;
              return isChatActive(state, id) !== active;
            }).forEach(function(_ref2) {
              var id = _ref2.id, active = _ref2.active;
              store.dispatch(setChatActive(id, active));
            });
            return;
          default:
            return;
        }
    }
  };
  var sendRequest$1 = function sendRequest3(socket, _ref3) {
    var _ref3$payload = _ref3.payload, id = _ref3$payload.id, request = _ref3$payload.request;
    var frame = _extends3({
      request_id: id
    }, request);
    switch (frame.action) {
      case LOGIN: {
        var upgradedPushes = [];
        socket.emit(_extends3({}, frame, {
          version: "3.5",
          payload: _extends3({}, frame.payload, {
            pushes: {
              // '3.6': upgradedPushes,
              "3.5": values(serverPushActions).filter(function(pushAction) {
                return (
                  // `customer_disconnected` can be sent immediately after opening the connection, before it even received login request
                  // therefore it's not possible to subscribe for a particular version of this push - the "connection version" is always used
                  pushAction !== CUSTOMER_DISCONNECTED && !includes(pushAction, upgradedPushes)
                );
              })
            }
          })
        }));
        return;
      }
      default:
        socket.emit(frame);
        return;
    }
  };
  var emitUsers = function emitUsers2(emit, users) {
    users.forEach(function(user) {
      if ("present" in user) {
        var rest = _objectWithoutPropertiesLoose2(user, ["present"]);
        emit("user_data", rest);
        return;
      }
      if (user.type === CUSTOMER) {
        var _rest = _objectWithoutPropertiesLoose2(user, ["statistics"]);
        emit("user_data", _rest);
        return;
      }
      emit("user_data", user);
    });
  };
  var handlePush = function handlePush2(_ref4, _ref5) {
    var emit = _ref4.emit, store = _ref4.store;
    var payload = _ref5.payload;
    switch (payload.action) {
      case THREAD_PROPERTIES_UPDATED:
        if (payload.payload.properties.lc2 && "queue_pos" in payload.payload.properties.lc2) {
          emit(QUEUE_POSITION_UPDATED, {
            chatId: payload.payload.chatId,
            threadId: payload.payload.threadId,
            queue: {
              position: payload.payload.properties.lc2.queue_pos,
              waitTime: payload.payload.properties.lc2.queue_waiting_time
            }
          });
        }
        emit("thread_properties_updated", payload.payload);
        return;
      case CUSTOMER_SIDE_STORAGE_UPDATED:
        saveSideStorage(store, payload.payload.customer_side_storage);
        return;
      case CUSTOMER_DISCONNECTED:
        switch (payload.payload.reason) {
          case ACCESS_TOKEN_EXPIRED:
            store.dispatch(prefetchToken(true));
            store.dispatch(reconnect(SMALL_RECONNECT_DELAY));
            emit("disconnected", payload.payload);
            break;
          case CUSTOMER_BANNED:
          case CUSTOMER_TEMPORARILY_BLOCKED:
          case LICENSE_NOT_FOUND:
          case PRODUCT_VERSION_CHANGED:
          case TOO_MANY_CONNECTIONS:
          case UNSUPPORTED_VERSION:
          case LOGGED_OUT_REMOTELY:
            store.dispatch(destroy(payload.payload.reason));
            break;
          case MISDIRECTED_CONNECTION$1:
            failAllRequests(store, MISDIRECTED_CONNECTION);
            store.dispatch({
              type: CHANGE_REGION,
              payload: payload.payload.data
            });
            break;
          case SERVICE_TEMPORARILY_UNAVAILABLE$1:
          case TOO_MANY_UNAUTHORIZED_CONNECTIONS:
            failAllRequests(store, payload.payload.reason.toUpperCase());
            break;
          default:
            store.dispatch(reconnect(SMALL_RECONNECT_DELAY));
            emit("disconnected", payload.payload);
            break;
        }
        return;
      case GROUPS_STATUS_UPDATED: {
        var _payload$payload$grou = payload.payload.groups, group = _payload$payload$grou[0];
        var availability = parseGroupStatus(group.status);
        emit("availability_updated", {
          availability
        });
        return;
      }
      case INCOMING_CHAT:
        emitUsers(emit, payload.payload.chat.users);
        emit(payload.action, payload.payload);
        return;
      case INCOMING_EVENT:
        if (payload.payload.event === null) {
          return;
        }
        emit(payload.action, payload.payload);
        return;
      case INCOMING_TYPING_INDICATOR:
        emit(payload.action, payload.payload);
        return;
      case USER_ADDED_TO_CHAT:
        emitUsers(emit, [payload.payload.user]);
        emit(payload.action, payload.payload);
        return;
      default:
        emit(payload.action, payload.payload);
        return;
    }
  };
  var handleResponse = function handleResponse2(_ref6, _ref7) {
    var emit = _ref6.emit;
    var payload = _ref7.payload;
    switch (payload.action) {
      case CHAT_DEACTIVATED:
        payload.resolve(SUCCESS);
        return;
      case GET_CHAT:
        emitUsers(emit, payload.payload.users);
        payload.resolve(payload.payload);
        return;
      case INCOMING_CHAT:
        emitUsers(emit, payload.payload.chat.users);
        payload.resolve(payload.payload);
        return;
      case INCOMING_EVENT:
        payload.resolve(payload.payload.event);
        return;
      case LIST_CHATS:
        emitUsers(emit, payload.payload.users);
        payload.resolve(payload.payload);
        return;
      default:
        payload.resolve(payload.payload);
        return;
    }
  };
  var createSideEffectsHandler = (function(_ref8) {
    var auth = _ref8.auth, customerDataProvider = _ref8.customerDataProvider, emitter = _ref8.emitter, socket = _ref8.socket, licenseId = _ref8.licenseId;
    var emit = emitter.emit;
    var loginTask = createLoginTask(auth, customerDataProvider, licenseId);
    return function(action, store) {
      switch (action.type) {
        case CHANGE_REGION:
          socket.reinitialize();
          return;
        case CHECK_GOALS:
          checkGoals(store, auth, action.payload.sessionFields)["catch"](noop);
          return;
        case DESTROY: {
          var payload = action.payload;
          loginTask.cancel();
          socket.destroy();
          switch (payload.reason) {
            case "manual":
              failAllRequests(store, SDK_DESTROYED);
              break;
            case CUSTOMER_BANNED:
            case LICENSE_EXPIRED:
            case PRODUCT_VERSION_CHANGED:
            case LOGGED_OUT_REMOTELY:
              failAllRequests(store, CONNECTION_LOST);
              emit("disconnected", payload);
              break;
            default:
              emit("disconnected", payload);
              break;
          }
          emitter.off();
          return;
        }
        case FAIL_ALL_REQUESTS: {
          var _action$payload = action.payload, reason = _action$payload.reason, rejects = _action$payload.rejects;
          var error = {
            message: FAIL_ALL_REQUESTS_MESSAGES[reason],
            code: reason
          };
          rejects.forEach(function(reject2) {
            reject2(createError3(error));
          });
          return;
        }
        case LOGIN_SUCCESS: {
          var _action$payload2 = action.payload, dynamicConfig = _action$payload2.dynamicConfig, customer = _action$payload2.customer, chats = _action$payload2.chats, greeting = _action$payload2.greeting, availability = _action$payload2.availability;
          var eventData = _extends3({
            customer,
            availability
          }, greeting && {
            greeting
          });
          Object.defineProperty(eventData, "__unsafeDynamicConfig", {
            value: dynamicConfig
          });
          Object.defineProperty(eventData, "__unsafeChats", {
            value: chats
          });
          emit("connected", eventData);
          return;
        }
        case PAUSE_CONNECTION: {
          var _payload = action.payload;
          socket.disconnect();
          if (_payload.reason !== "manual") {
            emit("disconnected", _payload);
          }
          return;
        }
        case PREFETCH_TOKEN:
          if (action.payload.fresh) {
            auth.getFreshToken()["catch"](noop);
            return;
          }
          auth.hasToken().then(function(hasToken) {
            if (!hasToken) {
              return auth.getToken();
            }
            return auth.getToken().then(function(_ref9) {
              var creationDate = _ref9.creationDate, expiresIn = _ref9.expiresIn;
              var ONE_HOUR = 60 * 60 * 1e3;
              if (creationDate + expiresIn - Date.now() > ONE_HOUR) {
                return;
              }
              return auth.invalidate().then(auth.getFreshToken);
            });
          })["catch"](noop);
          return;
        case PUSH_RECEIVED:
          if (action.payload.action === CUSTOMER_DISCONNECTED) {
            handlePush({
              emit,
              store
            }, action);
            return;
          }
          updateStateIfNeeded(store, action);
          handlePush({
            emit,
            store
          }, action);
          return;
        case PUSH_RESPONSE_RECEIVED:
          updateStateIfNeeded(store, action);
          handleResponse({
            emit
          }, action);
          return;
        case RECONNECT:
          failAllRequests(store, CONNECTION_LOST);
          socket.reconnect(action.payload.delay);
          return;
        case REQUEST_FAILED: {
          var _action$payload3 = action.payload, reject = _action$payload3.reject, _error = _action$payload3.error;
          reject(createError3(_error));
          return;
        }
        case RESPONSE_RECEIVED:
          updateStateIfNeeded(store, action);
          handleResponse({
            emit
          }, action);
          return;
        case SEND_REQUEST:
          {
            var state = store.getState();
            if (isDestroyed(state)) {
              failRequest(store, action, {
                code: SDK_DESTROYED,
                message: "SDK destroyed."
              });
              return;
            }
            if (!isConnected(state) && action.payload.source !== "login") {
              failRequest(store, action, {
                code: NO_CONNECTION,
                message: "No connection."
              });
              return;
            }
            sendRequest$1(socket, action);
          }
          return;
        case SET_SELF_ID:
          emit("customer_id", action.payload.id);
          return;
        case SOCKET_DISCONNECTED:
          emit("disconnected", {
            reason: "connection_lost"
          });
          return;
        case SOCKET_CONNECTED:
          loginTask.sendLogin(store);
          return;
        case SOCKET_RECOVERED:
          if (!isConnected(store.getState())) {
            return;
          }
          emit("connection_recovered");
          return;
        case SOCKET_UNSTABLE:
          if (!isConnected(store.getState())) {
            return;
          }
          emit("connection_unstable");
          return;
        case START_CONNECTION:
          socket.connect();
          store.dispatch(prefetchToken());
          return;
        case UPDATE_CUSTOMER_PAGE:
          if (!isConnected(store.getState())) {
            return;
          }
          sendRequestAction(store, sendRequest(UPDATE_CUSTOMER_PAGE$1, action.payload))["catch"](noop);
          return;
        default:
          return;
      }
    };
  });
  var HISTORY_EVENT_COUNT_TARGET = 25;
  var createState = function createState2() {
    return {
      status: "idle",
      queuedTasks: [],
      nextPageId: null
    };
  };
  var createChatHistoryIterator = function createChatHistoryIterator2(sdk, chatId) {
    var historyState = createState();
    var next = function next2(resolve, reject) {
      switch (historyState.status) {
        case "idle":
          historyState.status = "fetching";
          sdk.listThreads(historyState.nextPageId ? {
            chatId,
            pageId: historyState.nextPageId
          } : {
            chatId,
            minEventsCount: HISTORY_EVENT_COUNT_TARGET
          }).then(function(_ref2) {
            var threads = _ref2.threads, nextPageId = _ref2.nextPageId;
            historyState.nextPageId = nextPageId;
            if (!historyState.nextPageId) {
              historyState.status = "done";
              resolve({
                value: {
                  threads: [].concat(threads).reverse()
                },
                done: true
              });
            } else {
              historyState.status = "idle";
              resolve({
                value: {
                  threads: [].concat(threads).reverse()
                },
                done: false
              });
            }
            var queuedTask = historyState.queuedTasks.shift();
            if (!queuedTask) {
              return;
            }
            next2(queuedTask.resolve, queuedTask.reject);
          }, function(err) {
            var queuedTasks = historyState.queuedTasks;
            historyState.status = "idle";
            historyState.queuedTasks = [];
            reject(err);
            queuedTasks.forEach(function(queuedTask) {
              return queuedTask.reject(err);
            });
          });
          return;
        case "fetching":
          historyState.queuedTasks.push({
            resolve,
            reject
          });
          return;
        case "done":
          resolve({
            value: void 0,
            done: true
          });
          return;
      }
    };
    return {
      next: (function(_next) {
        function next2() {
          return _next.apply(this, arguments);
        }
        next2.toString = function() {
          return _next.toString();
        };
        return next2;
      })(function() {
        return new Promise(next);
      })
    };
  };
  var initialize = function initialize2(store, emitter) {
    var state = store.getState();
    var url = (getServerUrl(state) + "/rtm/ws").replace(/^https/, "wss");
    return platform_client_esm_default(url, {
      query: {
        organization_id: state.organizationId
      },
      emitter
    });
  };
  var createSocketClient = function createSocketClient2(store) {
    var emitter = livechat_mitt_es_default();
    var client = initialize(store, emitter);
    return _extends3({}, Object.keys(client).reduce(function(proxy, method) {
      proxy[method] = function() {
        var _client;
        return (_client = client)[method].apply(_client, arguments);
      };
      return proxy;
    }, {}), {
      reinitialize: function reinitialize() {
        client.disconnect();
        client = initialize(store, emitter);
        client.connect();
      }
    });
  };
  var parseChatPropertiesDeletedPush = function parseChatPropertiesDeletedPush2(payload) {
    return {
      chatId: payload.chat_id,
      properties: payload.properties
    };
  };
  var parseChatPropertiesUpdatedPush = function parseChatPropertiesUpdatedPush2(payload) {
    return {
      chatId: payload.chat_id,
      properties: payload.properties
    };
  };
  var parseChatTransferredPush = function parseChatTransferredPush2(payload) {
    var basePayload = {
      chatId: payload.chat_id,
      threadId: payload.thread_id,
      transferredTo: _extends3({}, payload.transferred_to.agent_ids && {
        agentIds: payload.transferred_to.agent_ids
      }, payload.transferred_to.group_ids && {
        groupIds: payload.transferred_to.group_ids
      }),
      queue: payload.queue ? parseQueue(payload.queue) : null
    };
    if (payload.reason === "manual") {
      return _extends3({}, basePayload, {
        reason: payload.reason,
        requesterId: payload.requester_id
      });
    }
    return _extends3({}, basePayload, {
      reason: payload.reason
    });
  };
  var parseCustomerPageUpdatedPush = function parseCustomerPageUpdatedPush2(payload) {
    return {
      url: payload.url,
      title: payload.title,
      openedAt: payload.opened_at
    };
  };
  var parseCustomerUpdatedPush = function parseCustomerUpdatedPush2(payload) {
    return _extends3({
      id: payload.id
    }, parseCustomerOptionalProps(payload));
  };
  var parseEventPropertiesDeletedPush = function parseEventPropertiesDeletedPush2(payload) {
    return {
      chatId: payload.chat_id,
      threadId: payload.thread_id,
      eventId: payload.event_id,
      properties: payload.properties
    };
  };
  var parseEventPropertiesUpdatedPush = function parseEventPropertiesUpdatedPush2(payload) {
    return {
      chatId: payload.chat_id,
      threadId: payload.thread_id,
      eventId: payload.event_id,
      properties: payload.properties
    };
  };
  var parseEventUpdatedPush = function parseEventUpdatedPush2(payload) {
    var threadId = payload.thread_id;
    return {
      chatId: payload.chat_id,
      threadId,
      event: parseEvent$1(threadId, payload.event)
    };
  };
  var parseEventsMarkedAsSeenPush = function parseEventsMarkedAsSeenPush2(payload) {
    return {
      chatId: payload.chat_id,
      userId: payload.user_id,
      seenUpTo: payload.seen_up_to
    };
  };
  var parseGreetingAcceptedPush = function parseGreetingAcceptedPush2(payload) {
    return {
      uniqueId: payload.unique_id
    };
  };
  var parseGetChatResponse = function parseGetChatResponse2(payload) {
    return _extends3({}, parseChatCommon(payload), {
      thread: payload.thread ? parseThread(payload.id, payload.thread) : null
    });
  };
  var parseIncomingChatPush = function parseIncomingChatPush2(payload) {
    var chat = payload.chat;
    return {
      chat: _extends3({}, parseChatCommon(chat), {
        thread: parseThread(chat.id, chat.thread)
      })
    };
  };
  var parseIncomingEventPush = function parseIncomingEventPush2(payload) {
    return {
      chatId: payload.chat_id,
      event: parseEvent$1(payload.thread_id, payload.event)
    };
  };
  var parseIncomingGreetingPush = function parseIncomingGreetingPush2(payload) {
    return parseGreeting(payload);
  };
  var parseIncomingRichMessagePostbackPush = function parseIncomingRichMessagePostbackPush2(payload) {
    return {
      userId: payload.user_id,
      chatId: payload.chat_id,
      threadId: payload.thread_id,
      eventId: payload.event_id,
      postback: payload.postback
    };
  };
  var parseIncomingTypingIndicatorPush = function parseIncomingTypingIndicatorPush2(payload) {
    var chatId = payload.chat_id, typingIndicator = payload.typing_indicator;
    return {
      chatId,
      typingIndicator: {
        authorId: typingIndicator.author_id,
        isTyping: typingIndicator.is_typing
      }
    };
  };
  var parseQueuePositionUpdatedPush = function parseQueuePositionUpdatedPush2(payload) {
    return {
      chatId: payload.chat_id,
      threadId: payload.thread_id,
      queue: parseQueueUpdate(payload.queue)
    };
  };
  var parseThreadPropertiesDeletedPush = function parseThreadPropertiesDeletedPush2(payload) {
    return {
      chatId: payload.chat_id,
      threadId: payload.thread_id,
      properties: payload.properties
    };
  };
  var parseThreadPropertiesUpdatedPush = function parseThreadPropertiesUpdatedPush2(payload) {
    return {
      chatId: payload.chat_id,
      threadId: payload.thread_id,
      properties: payload.properties
    };
  };
  var parseUserAddedToChatPush = function parseUserAddedToChatPush2(payload) {
    return {
      chatId: payload.chat_id,
      user: parseChatUser(payload.user),
      present: payload.user.present
    };
  };
  var parseUserRemovedFromChatPush = function parseUserRemovedFromChatPush2(payload) {
    return {
      chatId: payload.chat_id,
      userId: payload.user_id
    };
  };
  var parseFields = function parseFields2(fields) {
    return fields.map(function(field) {
      switch (field.type) {
        case "group_chooser":
          return _extends3({}, field, {
            options: field.options.map(function(_ref2) {
              var groupId = _ref2.group_id, option = _objectWithoutPropertiesLoose2(_ref2, ["group_id"]);
              return _extends3({}, option, {
                groupId
              });
            })
          });
        case "rating": {
          var commentLabel = field.comment_label, parsed = _objectWithoutPropertiesLoose2(field, ["comment_label"]);
          return _extends3({}, parsed, {
            commentLabel
          });
        }
        default:
          return field;
      }
    });
  };
  var parseTicketFormFields = function parseTicketFormFields2(fields) {
    var withFakeIds = fields.map(function(field, index2) {
      return _extends3({}, field, {
        id: String(index2)
      });
    });
    return parseFields(withFakeIds);
  };
  var parseForm$1 = function parseForm3(form) {
    var isTicketForm = !("id" in form.fields[0]);
    return {
      id: form.id,
      fields: isTicketForm ? parseTicketFormFields(form.fields) : parseFields(form.fields)
    };
  };
  var parseGetFormResponse = function parseGetFormResponse2(payload) {
    if (!payload.enabled) {
      return payload;
    }
    return _extends3({}, payload, {
      form: parseForm$1(payload.form)
    });
  };
  var parseGetUrlInfoResponse = function parseGetUrlInfoResponse2(payload) {
    var urlInfo = {
      url: payload.url
    };
    if (payload.title) {
      urlInfo.title = payload.title;
    }
    if (payload.description) {
      urlInfo.description = payload.description;
    }
    if (payload.image_url) {
      urlInfo.imageUrl = "https://" + removeProtocol(payload.image_url);
      if (payload.image_width && payload.image_height) {
        urlInfo.imageWidth = payload.image_width;
        urlInfo.imageHeight = payload.image_height;
      }
    }
    return urlInfo;
  };
  var getAvailabilityBasedOnDynamicConfig = function getAvailabilityBasedOnDynamicConfig2(_ref2) {
    var onlineGroups = _ref2.online_groups_ids, customerGroups = _ref2.customer_groups;
    if (!onlineGroups) {
      return "offline";
    }
    var monitoringGroupId = customerGroups.monitoring.id;
    return includes(monitoringGroupId, onlineGroups) ? "online" : "offline";
  };
  var parseListChatsResponse = function parseListChatsResponse2(payload) {
    var chatsSummary = payload.chats_summary.map(function(_ref3) {
      var id = _ref3.id, active = _ref3.active, access = _ref3.access, lastThreadCreatedAt = _ref3.last_thread_created_at, lastThreadId = _ref3.last_thread_id, lastEventsPerType = _ref3.last_event_per_type, _ref3$properties = _ref3.properties, properties = _ref3$properties === void 0 ? {} : _ref3$properties, users = _ref3.users;
      var chatSummary = {
        id,
        active,
        access: parseAccess(access),
        properties,
        users: users.map(parseChatUser),
        lastThreadId: lastThreadId || null,
        lastThreadCreatedAt: lastThreadCreatedAt || null,
        eventsSeenUpToMap: getEventsSeenUpToMap(users)
      };
      if (!lastEventsPerType) {
        return chatSummary;
      }
      chatSummary.lastEventsPerType = mapValues(function(lastEventPerType) {
        return parseEvent$1(lastEventPerType.thread_id, lastEventPerType.event);
      }, lastEventsPerType);
      var refinedLastEventsPerType = lastEventsPerType;
      var lastEventSummariesArray = Object.keys(refinedLastEventsPerType).map(function(eventType) {
        return refinedLastEventsPerType[eventType];
      });
      var lastEventSummary = last(lastEventSummariesArray.sort(function(eventSummaryA, eventSummaryB) {
        return eventSummaryA.thread_id === eventSummaryB.thread_id ? stringCompare(eventSummaryA.event.created_at, eventSummaryB.event.created_at) : stringCompare(eventSummaryA.thread_created_at, eventSummaryB.thread_created_at);
      }));
      if (lastEventSummary && chatSummary.lastEventsPerType) {
        chatSummary.lastEvent = chatSummary.lastEventsPerType[lastEventSummary.event.type];
      }
      return chatSummary;
    });
    return {
      chatsSummary: numericSortBy(function(_ref4) {
        var _ref5;
        var lastEvent = _ref4.lastEvent, order = _ref4.order;
        return -1 * ((_ref5 = lastEvent !== void 0 ? lastEvent.timestamp : order) != null ? _ref5 : 0);
      }, chatsSummary),
      totalChats: payload.total_chats,
      users: uniqBy(function(user) {
        return user.id;
      }, flatMap(function(summary) {
        return summary.users;
      }, chatsSummary)),
      previousPageId: payload.previous_page_id || null,
      nextPageId: payload.next_page_id || null
    };
  };
  var parseListGroupStatusesResponse = function parseListGroupStatusesResponse2(payload) {
    return payload.groups_status;
  };
  var parseListThreadsResponse = function parseListThreadsResponse2(request, payload) {
    return {
      threads: payload.threads.map(function(thread) {
        return parseThread(request.payload.chat_id, thread);
      }),
      previousPageId: payload.previous_page_id || null,
      nextPageId: payload.next_page_id || null
    };
  };
  var parseLoginResponse = function parseLoginResponse2(payload) {
    var dynamicConfig = payload.__priv_dynamic_config, chats = payload.chats, greeting = payload.greeting;
    return _extends3({
      dynamicConfig,
      customer: parseCustomer(payload.customer),
      availability: getAvailabilityBasedOnDynamicConfig(dynamicConfig),
      chats: chats.map(function(chat) {
        return {
          id: chat.chat_id,
          active: "has_active_thread" in chat ? chat.has_active_thread : (
            // temporary fallback, waiting for API to move this flag into `chats` array
            payload.has_active_thread
          ),
          hasUnreadEvents: chat.has_unread_events
        };
      })
    }, greeting && {
      greeting: parseGreeting(greeting)
    });
  };
  var parsePush = function parsePush2(push) {
    switch (push.action) {
      case CHAT_DEACTIVATED:
        return {
          action: push.action,
          payload: {
            chatId: push.payload.chat_id
          }
        };
      case CHAT_PROPERTIES_DELETED:
        return {
          action: push.action,
          payload: parseChatPropertiesDeletedPush(push.payload)
        };
      case CHAT_PROPERTIES_UPDATED:
        return {
          action: push.action,
          payload: parseChatPropertiesUpdatedPush(push.payload)
        };
      case CHAT_TRANSFERRED:
        return {
          action: push.action,
          payload: parseChatTransferredPush(push.payload)
        };
      case CUSTOMER_SIDE_STORAGE_UPDATED:
        return {
          action: push.action,
          payload: push.payload
        };
      case CUSTOMER_DISCONNECTED:
        return {
          action: push.action,
          payload: push.payload
        };
      case CUSTOMER_PAGE_UPDATED:
        return {
          action: push.action,
          payload: parseCustomerPageUpdatedPush(push.payload)
        };
      case CUSTOMER_UPDATED:
        return {
          action: push.action,
          payload: parseCustomerUpdatedPush(push.payload)
        };
      case EVENT_PROPERTIES_DELETED:
        return {
          action: push.action,
          payload: parseEventPropertiesDeletedPush(push.payload)
        };
      case EVENT_PROPERTIES_UPDATED:
        return {
          action: push.action,
          payload: parseEventPropertiesUpdatedPush(push.payload)
        };
      case EVENT_UPDATED:
        return {
          action: push.action,
          payload: parseEventUpdatedPush(push.payload)
        };
      case EVENTS_MARKED_AS_SEEN:
        return {
          action: push.action,
          payload: parseEventsMarkedAsSeenPush(push.payload)
        };
      case GREETING_ACCEPTED:
        return {
          action: push.action,
          payload: parseGreetingAcceptedPush(push.payload)
        };
      case GREETING_CANCELED:
        return {
          action: push.action,
          // 'greeting_canceled' has the same payload as `greeting_accepted`
          payload: parseGreetingAcceptedPush(push.payload)
        };
      case GROUPS_STATUS_UPDATED:
        return {
          action: push.action,
          payload: push.payload
        };
      case INCOMING_CHAT:
        return {
          action: push.action,
          payload: parseIncomingChatPush(push.payload)
        };
      case INCOMING_EVENT:
        return {
          action: push.action,
          payload: parseIncomingEventPush(push.payload)
        };
      case INCOMING_GREETING:
        return {
          action: push.action,
          payload: parseIncomingGreetingPush(push.payload)
        };
      case INCOMING_MULTICAST:
        return {
          action: push.action,
          payload: push.payload
        };
      case INCOMING_RICH_MESSAGE_POSTBACK:
        return {
          action: push.action,
          payload: parseIncomingRichMessagePostbackPush(push.payload)
        };
      case INCOMING_TYPING_INDICATOR:
        return {
          action: push.action,
          payload: parseIncomingTypingIndicatorPush(push.payload)
        };
      case QUEUE_POSITION_UPDATED:
        return {
          action: push.action,
          payload: parseQueuePositionUpdatedPush(push.payload)
        };
      case THREAD_PROPERTIES_DELETED:
        return {
          action: push.action,
          payload: parseThreadPropertiesDeletedPush(push.payload)
        };
      case THREAD_PROPERTIES_UPDATED:
        return {
          action: push.action,
          payload: parseThreadPropertiesUpdatedPush(push.payload)
        };
      case USER_ADDED_TO_CHAT:
        return {
          action: push.action,
          payload: parseUserAddedToChatPush(push.payload)
        };
      case USER_REMOVED_FROM_CHAT:
        return {
          action: push.action,
          payload: parseUserRemovedFromChatPush(push.payload)
        };
    }
  };
  var parseResponse = function parseResponse2(_ref6) {
    var request = _ref6.request, response = _ref6.response;
    switch (response.action) {
      case ACCEPT_GREETING:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case CANCEL_GREETING:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case DELETE_CHAT_PROPERTIES:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case DELETE_EVENT_PROPERTIES:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case DELETE_THREAD_PROPERTIES:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case GET_CHAT:
        return {
          action: response.action,
          payload: parseGetChatResponse(response.payload)
        };
      case GET_CUSTOMER:
        return {
          action: response.action,
          payload: parseCustomer(response.payload)
        };
      case GET_FORM:
        return {
          action: response.action,
          payload: parseGetFormResponse(response.payload)
        };
      case GET_PREDICTED_AGENT:
        return {
          action: response.action,
          payload: parsePredictedAgent(response.payload)
        };
      case GET_URL_INFO:
        return {
          action: response.action,
          payload: parseGetUrlInfoResponse(response.payload)
        };
      case LIST_CHATS:
        return {
          action: response.action,
          payload: parseListChatsResponse(response.payload)
        };
      case LIST_GROUP_STATUSES:
        return {
          action: response.action,
          payload: parseListGroupStatusesResponse(response.payload)
        };
      case LIST_THREADS:
        return {
          action: response.action,
          payload: parseListThreadsResponse(request, response.payload)
        };
      case LOGIN:
        return {
          action: response.action,
          payload: parseLoginResponse(response.payload)
        };
      case MARK_EVENTS_AS_SEEN:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case SEND_SNEAK_PEEK:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case SET_CUSTOMER_SESSION_FIELDS:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case SEND_RICH_MESSAGE_POSTBACK:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case UPDATE_CHAT_PROPERTIES:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case UPDATE_CUSTOMER:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case UPDATE_CUSTOMER_PAGE$1:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case UPDATE_EVENT_PROPERTIES:
        return {
          action: response.action,
          payload: SUCCESS
        };
      case UPDATE_THREAD_PROPERTIES:
        return {
          action: response.action,
          payload: SUCCESS
        };
    }
  };
  var parseServerError = function parseServerError2(error) {
    return {
      code: error.type.toUpperCase(),
      message: error.message
    };
  };
  var handleResponseError = function handleResponseError2(_ref2, response) {
    var dispatch = _ref2.dispatch, getState = _ref2.getState;
    var requestId = response.request_id, payload = response.payload;
    var _getRequest = getRequest(getState(), requestId), reject = _getRequest.reject;
    dispatch({
      type: REQUEST_FAILED,
      payload: {
        id: requestId,
        reject,
        error: parseServerError(payload.error)
      }
    });
  };
  var handleResponse$1 = function handleResponse3(_ref2, response) {
    var dispatch = _ref2.dispatch, getState = _ref2.getState;
    var requestId = response.request_id;
    var _getRequest2 = getRequest(getState(), requestId), promise = _getRequest2.promise, resolve = _getRequest2.resolve, request = _getRequest2.request;
    var parsedResponse = parseResponse({
      request,
      response
    });
    dispatch({
      type: RESPONSE_RECEIVED,
      payload: _extends3({
        id: requestId,
        promise,
        resolve
      }, parsedResponse)
    });
  };
  var handlePushResponse = function handlePushResponse2(_ref3, response) {
    var dispatch = _ref3.dispatch, getState = _ref3.getState;
    var requestId = response.request_id;
    var _getRequest3 = getRequest(getState(), requestId), promise = _getRequest3.promise, resolve = _getRequest3.resolve;
    var parsedPush = parsePush(response);
    dispatch({
      type: PUSH_RESPONSE_RECEIVED,
      payload: _extends3({
        id: requestId,
        promise,
        resolve
      }, parsedPush)
    });
  };
  var handlePush$1 = function handlePush3(store, push) {
    var parsedPush = parsePush(push);
    if (!parsedPush) {
      return;
    }
    store.dispatch({
      type: PUSH_RECEIVED,
      payload: parsedPush
    });
  };
  var socketListener = (function(store, socket) {
    var dispatch = store.dispatch;
    socket.on("connect", function() {
      dispatch({
        type: SOCKET_CONNECTED
      });
    });
    socket.on("message", function(message) {
      if (message.type === "response") {
        if (!message.success) {
          handleResponseError(store, message);
          return;
        }
        switch (message.action) {
          case RESUME_CHAT:
          case SEND_EVENT:
          case START_CHAT:
            return;
          default:
            handleResponse$1(store, message);
            return;
        }
      }
      if ("request_id" in message) {
        switch (message.action) {
          case INCOMING_CHAT:
          case INCOMING_EVENT:
            handlePushResponse(store, message);
            return;
        }
      }
      handlePush$1(store, message);
    });
    socket.on("disconnect", function() {
      failAllRequests(store, CONNECTION_LOST);
      if (getConnectionStatus(store.getState()) === CONNECTED) {
        store.dispatch(socketDisconnected());
      }
    });
    socket.on("connection_unstable", function() {
      dispatch({
        type: SOCKET_UNSTABLE
      });
    });
    socket.on("connection_recovered", function() {
      dispatch({
        type: SOCKET_RECOVERED
      });
    });
    return socket.off;
  });
  var KILOBYTE = 1024;
  var MEGABYTE = 1024 * KILOBYTE;
  var GIGABYTE = 1024 * MEGABYTE;
  var SIZE_LIMIT = 10 * MEGABYTE;
  var formatBytes = function formatBytes2(bytes, precision) {
    if (precision === void 0) {
      precision = 2;
    }
    if (bytes < KILOBYTE) {
      return bytes + " b";
    }
    var kilobytes = bytes / 1024;
    if (bytes < MEGABYTE) {
      return kilobytes.toFixed(precision) + " kb";
    }
    var megabytes = kilobytes / 1024;
    if (bytes < GIGABYTE) {
      return megabytes.toFixed(precision) + " MB";
    }
    var gigabytes = megabytes / 1024;
    return gigabytes.toFixed(precision) + " GB";
  };
  var validateFile = function validateFile2(file) {
    if (file.size > SIZE_LIMIT) {
      throw createError3({
        message: "The file is too big (max size is " + formatBytes(SIZE_LIMIT) + ").",
        code: TOO_BIG_FILE
      });
    }
  };
  var uploadFile3 = function uploadFile4(_ref2, _ref22) {
    var auth = _ref2.auth, store = _ref2.store;
    var file = _ref22.file, onProgress = _ref22.onProgress;
    var upload;
    var cancelled = false;
    var send = new Promise(function(resolve, reject) {
      validateFile(file);
      var state = store.getState();
      var query = buildQueryString({
        organization_id: state.organizationId
      });
      var url = getServerUrl(state) + "/action/" + UPLOAD_FILE + "?" + query;
      var payload = {
        file
      };
      auth.getToken().then(function(token) {
        if (cancelled) {
          reject(new Error("Upload cancelled."));
          return;
        }
        upload = file_upload_es_default(url, payload, {
          headers: {
            Authorization: token.tokenType + " " + token.accessToken
          },
          onProgress
        });
        upload.promise.then(resolve, function(uploadError) {
          if (!uploadError.response) {
            reject(uploadError);
            return;
          }
          var _uploadError$response = uploadError.response.error, type = _uploadError$response.type, message = _uploadError$response.message;
          reject(createError3({
            message,
            code: type.toUpperCase()
          }));
        });
      });
    });
    return {
      promise: send,
      cancel: function cancel() {
        if (cancelled) {
          return;
        }
        cancelled = true;
        if (upload) {
          upload.cancel();
        }
      }
    };
  };
  var makeGraylogRequest = function makeGraylogRequest2(url, body) {
    return new Promise(function(resolve) {
      var img = new Image();
      img.src = url + "?" + body;
      img.onerror = noop;
      img.onload = function() {
        return resolve();
      };
    });
  };
  var log = function log2(_ref2) {
    var env = _ref2.env, organizationId = _ref2.organizationId, eventName = _ref2.eventName;
    if (env !== "production" || false) {
      return Promise.resolve();
    }
    var message = {
      event_name: eventName,
      severity: "Informational",
      sdkVersion: "4.0.2"
    };
    var body = {
      organizationId,
      event_id: "chat_widget_customer_sdk",
      message: JSON.stringify(message)
    };
    return makeGraylogRequest("https://queue.livechatinc.com/logs", buildQueryString(body));
  };
  var LISTENER_IDENTITY = "LISTENER_IDENTITY";
  var listenersMap = {};
  var createDebuggedMethods = function createDebuggedMethods2(methods, prefix) {
    if (prefix === void 0) {
      prefix = "";
    }
    var methodNames = Object.keys(methods);
    return methodNames.map(function(methodName) {
      var method = methods[methodName];
      return function() {
        var _console;
        for (var _len = arguments.length, args = new Array(_len), _key = 0; _key < _len; _key++) {
          args[_key] = arguments[_key];
        }
        (_console = console).info.apply(_console, [prefix + "." + methodName + "() ===>"].concat(args));
        var result = method.apply(void 0, args);
        if (typeof (result == null ? void 0 : result.then) === "function") {
          return result.then(function(data) {
            console.info(prefix + "." + methodName + "() <===", data);
            return data;
          }, function(err) {
            console.error(prefix + "." + methodName + "() <===", err);
            throw err;
          });
        }
        return result;
      };
    }).reduce(function(acc, method, index2) {
      acc[methodNames[index2]] = method;
      return acc;
    }, {});
  };
  var createEnhancedListener = function createEnhancedListener2(label, event, listener) {
    if (listener[LISTENER_IDENTITY] === void 0) {
      Object.defineProperty(listener, LISTENER_IDENTITY, {
        value: {}
      });
    }
    if (listener[LISTENER_IDENTITY][event]) {
      var enhancedListenerId = listener[LISTENER_IDENTITY][event];
      return listenersMap[enhancedListenerId];
    }
    var enhancedListener = function enhancedListener2(data) {
      console.info("." + label + '("' + event + '") <===', data);
      listener(data);
    };
    var uniqueId = generateUniqueId(listenersMap);
    listener[LISTENER_IDENTITY][event] = uniqueId;
    listenersMap[uniqueId] = enhancedListener;
    return enhancedListener;
  };
  var debug = (function(_sdk) {
    var sdk = _sdk;
    if (false) {
      console.warn("You probably do not want to use debug(customerSDK) in your production environment.");
    }
    var _on = sdk.on, _once = sdk.once, _off = sdk.off, _getChatHistory = sdk.getChatHistory, auth = sdk.auth, rest = _objectWithoutPropertiesLoose2(sdk, ["on", "once", "off", "getChatHistory", "auth"]);
    var methods = createDebuggedMethods(rest);
    return Object.freeze(_extends3({
      auth: Object.freeze(createDebuggedMethods(auth, ".auth"))
    }, methods, {
      getChatHistory: function getChatHistory() {
        var _console2;
        for (var _len2 = arguments.length, args = new Array(_len2), _key2 = 0; _key2 < _len2; _key2++) {
          args[_key2] = arguments[_key2];
        }
        (_console2 = console).info.apply(_console2, [".getChatHistory()"].concat(args));
        var history = _getChatHistory.apply(void 0, args);
        var logLabel = "history.next()";
        return {
          next: function next() {
            var _console3;
            (_console3 = console).info.apply(_console3, [logLabel + " ===>"].concat(args));
            return history.next().then(function(data) {
              var _console4;
              (_console4 = console).info.apply(_console4, [logLabel + " <==="].concat(args, [data]));
              return data;
            }, function(err) {
              var _console5;
              (_console5 = console).error.apply(_console5, [logLabel + " <==="].concat(args, [err]));
              throw err;
            });
          }
        };
      },
      off: function off(event, listener) {
        console.info('.off("' + event + '", ' + (listener.name || "anonymous") + ")");
        var enhancedListener = listener;
        if (listener[LISTENER_IDENTITY] !== void 0) {
          var enhancedListenerId = listener[LISTENER_IDENTITY][event];
          enhancedListener = listenersMap[enhancedListenerId];
        }
        _off(event, enhancedListener);
      },
      on: function on(event, listener) {
        _on(event, createEnhancedListener("on", event, listener));
      },
      once: function once(event, listener) {
        _once(event, createEnhancedListener("once", event, listener));
      }
    }));
  });
  var ASC = "asc";
  var DESC = "desc";
  var sortOrders = /* @__PURE__ */ Object.freeze({
    __proto__: null,
    ASC,
    DESC
  });
  var CHATS_PAGINATION_MAX_LIMIT = 25;
  var init = function init2(config, env, licenseId) {
    if (env === void 0) {
      env = "production";
    }
    validateConfig(config);
    var _config$autoConnect = config.autoConnect, autoConnect = _config$autoConnect === void 0 ? true : _config$autoConnect, customerDataProvider = config.customerDataProvider, identityProvider = config.identityProvider, instanceConfig = _objectWithoutPropertiesLoose2(config, ["autoConnect", "customerDataProvider", "identityProvider"]);
    var store = finalCreateStore(_extends3({}, instanceConfig, {
      env
    }));
    var emitter = livechat_mitt_es_default();
    var socket = createSocketClient(store);
    var auth = typeof identityProvider === "function" ? identityProvider() : customer_auth_esm_default(instanceConfig, licenseId, env);
    store.addSideEffectsHandler(createSideEffectsHandler({
      emitter,
      socket,
      auth,
      customerDataProvider,
      licenseId
    }));
    socketListener(store, socket);
    var sendRequestAction$1 = sendRequestAction.bind(null, store);
    var startConnection = function startConnection2() {
      store.dispatch({
        type: START_CONNECTION
      });
    };
    var api = Object.freeze({
      acceptGreeting: function acceptGreeting(_ref2) {
        var greetingId = _ref2.greetingId, uniqueId = _ref2.uniqueId;
        return sendRequestAction$1(sendRequest(ACCEPT_GREETING, {
          greeting_id: greetingId,
          unique_id: uniqueId
        }));
      },
      auth,
      cancelGreeting: function cancelGreeting(_ref2) {
        var uniqueId = _ref2.uniqueId;
        return sendRequestAction$1(sendRequest(CANCEL_GREETING, {
          unique_id: uniqueId
        }));
      },
      cancelRate: function cancelRate(params) {
        var chatId = params.chatId, _params$properties = params.properties, properties = _params$properties === void 0 ? ["score"] : _params$properties;
        return api.listThreads({
          chatId
        }).then(function(_ref3) {
          var threads = _ref3.threads;
          if (!threads.length) {
            throw createError3({
              message: 'There is no thread in "' + chatId + '".',
              code: MISSING_CHAT_THREAD
            });
          }
          return api.deleteThreadProperties({
            chatId,
            threadId: threads[0].id,
            properties: {
              rating: properties
            }
          });
        });
      },
      connect: startConnection,
      deactivateChat: function deactivateChat(_ref4) {
        var id = _ref4.id;
        return sendRequestAction$1(sendRequest(DEACTIVATE_CHAT, {
          id
        }));
      },
      deleteChatProperties: function deleteChatProperties(_ref5) {
        var id = _ref5.id, properties = _ref5.properties;
        return sendRequestAction$1(sendRequest(DELETE_CHAT_PROPERTIES, {
          id,
          properties
        }));
      },
      deleteEventProperties: function deleteEventProperties(_ref6) {
        var chatId = _ref6.chatId, threadId = _ref6.threadId, eventId = _ref6.eventId, properties = _ref6.properties;
        return sendRequestAction$1(sendRequest(DELETE_EVENT_PROPERTIES, {
          chat_id: chatId,
          thread_id: threadId,
          event_id: eventId,
          properties
        }));
      },
      deleteThreadProperties: function deleteThreadProperties(_ref7) {
        var chatId = _ref7.chatId, threadId = _ref7.threadId, properties = _ref7.properties;
        return sendRequestAction$1(sendRequest(DELETE_THREAD_PROPERTIES, {
          chat_id: chatId,
          thread_id: threadId,
          properties
        }));
      },
      destroy: function destroy$1() {
        store.dispatch(destroy("manual"));
      },
      disconnect: function disconnect() {
        store.dispatch(pauseConnection("manual"));
      },
      getChat: function getChat(_ref8) {
        var chatId = _ref8.chatId, threadId = _ref8.threadId;
        return sendRequestAction$1(sendRequest(GET_CHAT, {
          chat_id: chatId,
          thread_id: threadId
        }));
      },
      getChatHistory: function getChatHistory(_ref9) {
        var chatId = _ref9.chatId;
        return createChatHistoryIterator(api, chatId);
      },
      getCustomer: function getCustomer() {
        return sendRequestAction$1(sendRequest(GET_CUSTOMER, {}));
      },
      getForm: function getForm(_ref10) {
        var groupId = _ref10.groupId, type = _ref10.type;
        return sendRequestAction$1(sendRequest(GET_FORM, {
          group_id: groupId,
          type
        }));
      },
      getPredictedAgent: function getPredictedAgent(params) {
        if (params === void 0) {
          params = {};
        }
        var _params = params, groupId = _params.groupId;
        return sendRequestAction$1(sendRequest(GET_PREDICTED_AGENT, typeof groupId === "number" ? {
          group_id: groupId
        } : {}));
      },
      getUrlInfo: function getUrlInfo(_ref11) {
        var url = _ref11.url;
        return sendRequestAction$1(sendRequest(GET_URL_INFO, {
          url
        }));
      },
      listChats: function listChats(params) {
        if (params === void 0) {
          params = {};
        }
        if ("limit" in params && typeof params.limit === "number" && params.limit > CHATS_PAGINATION_MAX_LIMIT) {
          return Promise.reject(new Error("Specified limit is too high (max " + CHATS_PAGINATION_MAX_LIMIT + ")."));
        }
        return sendRequestAction$1(sendRequest(LIST_CHATS, params.pageId === void 0 ? {
          limit: params.limit || 10
        } : {
          page_id: params.pageId
        }));
      },
      listGroupStatuses: function listGroupStatuses(_temp) {
        var _ref12 = _temp === void 0 ? {} : _temp, groupIds = _ref12.groupIds;
        return sendRequestAction$1(sendRequest(LIST_GROUP_STATUSES, groupIds ? {
          group_ids: groupIds
        } : {
          all: true
        }));
      },
      listThreads: function listThreads(params) {
        return sendRequestAction$1(sendRequest(LIST_THREADS, params.pageId === void 0 ? {
          chat_id: params.chatId,
          sort_order: params.sortOrder,
          limit: params.limit,
          min_events_count: params.minEventsCount
        } : {
          chat_id: params.chatId,
          page_id: params.pageId
        }));
      },
      markEventsAsSeen: function markEventsAsSeen(_ref13) {
        var chatId = _ref13.chatId, seenUpTo = _ref13.seenUpTo;
        return sendRequestAction$1(sendRequest(MARK_EVENTS_AS_SEEN, {
          chat_id: chatId,
          seen_up_to: seenUpTo
        }));
      },
      on: emitter.on,
      once: emitter.once,
      off: emitter.off,
      rateChat: function rateChat(params) {
        var chatId = params.chatId, rating = params.rating;
        return api.listThreads({
          chatId
        }).then(function(_ref14) {
          var threads = _ref14.threads;
          if (!threads.length) {
            throw createError3({
              message: 'There is no thread in "' + chatId + '".',
              code: MISSING_CHAT_THREAD
            });
          }
          return api.updateThreadProperties({
            chatId,
            threadId: threads[0].id,
            properties: {
              rating
            }
          });
        });
      },
      resumeChat: function resumeChat(data) {
        log({
          env,
          organizationId: config.organizationId,
          eventName: "chat_started"
        });
        return sendRequestAction$1(sendRequest(RESUME_CHAT, parseResumeChatData(data)));
      },
      sendEvent: (function(_sendEvent) {
        function sendEvent3(_x) {
          return _sendEvent.apply(this, arguments);
        }
        sendEvent3.toString = function() {
          return _sendEvent.toString();
        };
        return sendEvent3;
      })(function(params) {
        return sendRequestAction$1(sendEvent(params));
      }),
      sendRichMessagePostback: function sendRichMessagePostback(_ref15) {
        var chatId = _ref15.chatId, threadId = _ref15.threadId, eventId = _ref15.eventId, postback = _ref15.postback;
        return sendRequestAction$1(sendRequest(SEND_RICH_MESSAGE_POSTBACK, {
          chat_id: chatId,
          event_id: eventId,
          thread_id: threadId,
          postback
        }));
      },
      setCustomerSessionFields: function setCustomerSessionFields(_ref16) {
        var sessionFields = _ref16.sessionFields;
        return sendRequestAction$1(sendRequest(SET_CUSTOMER_SESSION_FIELDS, {
          session_fields: parseCustomerSessionFields(sessionFields)
        }));
      },
      setSneakPeek: function setSneakPeek(_ref17) {
        var chatId = _ref17.chatId, sneakPeekText = _ref17.sneakPeekText;
        var state = store.getState();
        if (!isChatActive(state, chatId) || !isConnected(state)) {
          return;
        }
        sendRequestAction$1(sendRequest(SEND_SNEAK_PEEK, {
          chat_id: chatId,
          sneak_peek_text: sneakPeekText
        }))["catch"](noop);
      },
      startChat: function startChat(data) {
        if (data === void 0) {
          data = {};
        }
        log({
          env,
          organizationId: config.organizationId,
          eventName: "chat_started"
        });
        return sendRequestAction$1(sendRequest(START_CHAT, parseStartChatData(data)));
      },
      updateChatProperties: function updateChatProperties(_ref18) {
        var id = _ref18.id, properties = _ref18.properties;
        return sendRequestAction$1(sendRequest(UPDATE_CHAT_PROPERTIES, {
          id,
          properties
        }));
      },
      updateCustomer: function updateCustomer(update) {
        return sendRequestAction$1(sendRequest(UPDATE_CUSTOMER, parseCustomerUpdate(update)));
      },
      updateCustomerPage: function updateCustomerPage(page) {
        store.dispatch({
          type: UPDATE_CUSTOMER_PAGE,
          payload: pickOwn(["title", "url"], page)
        });
      },
      updateEventProperties: function updateEventProperties(_ref19) {
        var chatId = _ref19.chatId, threadId = _ref19.threadId, eventId = _ref19.eventId, properties = _ref19.properties;
        return sendRequestAction$1(sendRequest(UPDATE_EVENT_PROPERTIES, {
          chat_id: chatId,
          event_id: eventId,
          thread_id: threadId,
          properties
        }));
      },
      updateThreadProperties: function updateThreadProperties(_ref20) {
        var chatId = _ref20.chatId, threadId = _ref20.threadId, properties = _ref20.properties;
        return sendRequestAction$1(sendRequest(UPDATE_THREAD_PROPERTIES, {
          chat_id: chatId,
          thread_id: threadId,
          properties
        }));
      },
      uploadFile: function uploadFile$1(options) {
        return uploadFile3({
          auth,
          store
        }, options);
      }
    });
    if (autoConnect) {
      startConnection();
    } else {
      store.dispatch({
        type: CHECK_GOALS,
        payload: {
          sessionFields: typeof customerDataProvider === "function" ? customerDataProvider().sessionFields : {}
        }
      });
    }
    return api;
  };

  // entry.js
  window.CustomerSDK = customer_sdk_esm_exports;
})();
